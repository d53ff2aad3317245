# DeepLabV3+ R101-D8 (teacher) -> DeepLabV3+ MobileNetV2-D8 (student) on
# COCO-Stuff10k, 512x512 crops, MMSegmentation's 40k schedule (4 GPUs x 4
# images).  Everything but the distiller: a distillation config inherits
# this file and sets ``model.distiller`` only.
#
# ./deeplabv3plus_r101_r18_distill_cocostuff10k.py (dataset, schedule,
# runtime, algorithm, class count, validation loop and the teacher trained
# first with configs/baselines/deeplabv3plus_r101_cocostuff10k.py, whose
# last checkpoint it loads) with its student replaced by MMSegmentation's
# DeepLabV3+ MobileNetV2-D8 (./networks/deeplabv3.py), merged into it, so
# the class count set there stays; its cross-entropy is a mean over the
# valid pixels, as in every config of the release's pair.
_base_ = './deeplabv3plus_r101_r18_distill_cocostuff10k.py'

model = dict(architecture=_base_.deeplabv3plus_mobilenetv2_valid_mean)
