# DeepLabV3+ R101-D8 (teacher) -> R18-D8 (student) on Pascal VOC 2012 + aug,
# 512x512 crops, MMSegmentation's 40k schedule (4 GPUs x 4 images).
# Everything but the distiller: a distillation config inherits this file and
# sets ``model.distiller`` only.
_base_ = [
    'mmseg::_base_/datasets/pascal_voc12_aug.py',
    'mmseg::_base_/schedules/schedule_40k.py',
    'mmseg::_base_/default_runtime.py',
    './deeplabv3plus_r101_r18_distill.py',
]

crop_size = (512, 512)
num_classes = 21

# The teacher: MMSegmentation's released
# deeplabv3plus_r101-d8_4xb4-40k_voc12aug-512x512 (78.62 mIoU,
# configs/deeplabv3plus/metafile.yaml of MMSegmentation 1.2.2).
# It is written into ``model`` only (no top-level variable), so that one
# override replaces it everywhere.  Offline, point it at a local copy:
#   --cfg-options model.teacher_ckpt=/path/to/deeplabv3plus_r101-d8_512x512_40k_voc12aug_20200613_205333-faf03387.pth

model = dict(
    data_preprocessor=dict(size=crop_size),
    architecture=dict(
        decode_head=dict(num_classes=num_classes),
        auxiliary_head=dict(num_classes=num_classes)),
    teacher=dict(
        decode_head=dict(num_classes=num_classes),
        auxiliary_head=dict(num_classes=num_classes)),
    teacher_ckpt='https://download.openmmlab.com/mmsegmentation/v0.5/deeplabv3plus/deeplabv3plus_r101-d8_512x512_40k_voc12aug/deeplabv3plus_r101-d8_512x512_40k_voc12aug_20200613_205333-faf03387.pth')  # noqa: E501

# Validate the student and the teacher on the same data; the teacher's
# metrics are logged with a ``teacher.`` prefix (``teacher.mIoU``).
val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
