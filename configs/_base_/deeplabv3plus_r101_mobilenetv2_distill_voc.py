# DeepLabV3+ R101-D8 (teacher) -> DeepLabV3+ MobileNetV2-D8 (student) on
# Pascal VOC 2012 + aug, 512x512 crops, MMSegmentation's 40k schedule (4 GPUs
# x 4 images): the release's second pair, with MMSegmentation's networks and
# recipe.  Everything but the distiller: a distillation config inherits this
# file and sets ``model.distiller`` only.
#
# ./deeplabv3plus_r101_r18_distill_voc.py (dataset, schedule, runtime,
# algorithm, class count, validation loop and MMSegmentation's released
# teacher, deeplabv3plus_r101-d8_4xb4-40k_voc12aug-512x512, 78.62 mIoU) with
# its student replaced by MMSegmentation's DeepLabV3+ MobileNetV2-D8
# (./networks/deeplabv3.py), merged into it, so the class count set there
# stays; its cross-entropy is a mean over the valid pixels, as in every
# config of the release's pair.
_base_ = './deeplabv3plus_r101_r18_distill_voc.py'

model = dict(architecture=_base_.deeplabv3plus_mobilenetv2_valid_mean)
