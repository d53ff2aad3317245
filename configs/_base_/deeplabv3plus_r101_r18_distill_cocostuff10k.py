# DeepLabV3+ R101-D8 (teacher) -> R18-D8 (student) on COCO-Stuff10k,
# 512x512 crops, MMSegmentation's 40k schedule (4 GPUs x 4 images).
# Everything but the distiller: a distillation config inherits this file and
# sets ``model.distiller`` only.
#
# The dataset, schedule, runtime, algorithm, class count and validation loop
# are those of ./deeplabv3_r101_r18_distill_cocostuff10k.py; its two
# networks become MMSegmentation's DeepLabV3+ R18-D8 and R101-D8
# (./networks/deeplabv3.py), merged into them, so the class count set there
# stays.
_base_ = './deeplabv3_r101_r18_distill_cocostuff10k.py'

# The teacher: MMSegmentation 1.2.2 releases no DeepLabV3+ for COCO-Stuff10k,
# so it is trained first with MMSegmentation's recipe for this dataset:
#   python tools/train.py configs/baselines/deeplabv3plus_r101_cocostuff10k.py
# whose last checkpoint is the path below (relative to the directory you
# train from).  Elsewhere:
#   --cfg-options model.teacher_ckpt=/path/to/iter_40000.pth
model = dict(
    architecture=_base_.deeplabv3plus_r18,
    teacher=_base_.deeplabv3plus_r101,
    teacher_ckpt='work_dirs/deeplabv3plus_r101_cocostuff10k/iter_40000.pth')
