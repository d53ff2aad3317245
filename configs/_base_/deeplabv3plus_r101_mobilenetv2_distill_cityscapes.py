# DeepLabV3+ R101-D8 (teacher) -> DeepLabV3+ MobileNetV2-D8 (student) on
# Cityscapes, 512x1024 crops, MMSegmentation's 80k schedule (4 GPUs x 2
# images): MMSegmentation's own recipe of both networks.  Everything but the
# distiller: a distillation config inherits this file and sets
# ``model.distiller`` only.
#
# The dataset, schedule, runtime, algorithm, class count and validation loop
# are those of ./deeplabv3_r101_r18_distill_cityscapes.py, which are those of
# MMSegmentation's deeplabv3plus_r101-d8 and mobilenet-v2-d8_deeplabv3plus
# Cityscapes configs too; its two networks become MMSegmentation's
# DeepLabV3+ R101-D8 and MobileNetV2-D8 (./networks/deeplabv3.py) as
# MMSegmentation trains them, merged into them, so the class count stays.
_base_ = './deeplabv3_r101_r18_distill_cityscapes.py'

# The teacher: MMSegmentation's released
# deeplabv3plus_r101-d8_4xb2-80k_cityscapes-512x1024 (80.97 mIoU); the
# student is its mobilenet-v2-d8_deeplabv3plus_4xb2-80k_cityscapes-512x1024
# network (75.20 mIoU trained alone; configs/deeplabv3plus and
# configs/mobilenet_v2 metafile.yaml of MMSegmentation 1.2.2).  Offline,
# point the teacher at a local copy:
#   --cfg-options model.teacher_ckpt=/path/to/deeplabv3plus_r101-d8_512x1024_80k_cityscapes_20200606_114143-068fcfe9.pth
model = dict(
    architecture=_base_.deeplabv3plus_mobilenetv2,
    teacher=_base_.deeplabv3plus_r101,
    teacher_ckpt='https://download.openmmlab.com/mmsegmentation/v0.5/deeplabv3plus/deeplabv3plus_r101-d8_512x1024_80k_cityscapes/deeplabv3plus_r101-d8_512x1024_80k_cityscapes_20200606_114143-068fcfe9.pth')  # noqa: E501
