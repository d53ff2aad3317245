# DeepLabV3 R101-D8 (teacher) -> R18-D8 (student) on ADE20K (150 classes,
# reduce_zero_label), 512x512 crops, MMSegmentation's 80k schedule (4 GPUs x
# 4 images).  Everything but the distiller: a distillation config inherits
# this file and sets ``model.distiller`` only.
_base_ = [
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/schedules/schedule_80k.py',
    'mmseg::_base_/default_runtime.py',
    './deeplabv3_r101_r18_distill.py',
]

crop_size = (512, 512)
num_classes = 150

# The teacher: MMSegmentation's released
# deeplabv3_r101-d8_4xb4-80k_ade20k-512x512 (44.08 mIoU,
# configs/deeplabv3/metafile.yaml of MMSegmentation 1.2.2).  It is written
# into ``model`` only (no top-level variable), so that one override replaces
# it everywhere.  Offline, point it at a local copy:
#   --cfg-options model.teacher_ckpt=/path/to/deeplabv3_r101-d8_512x512_80k_ade20k_20200615_021256-d89c7fa4.pth
model = dict(
    data_preprocessor=dict(size=crop_size),
    architecture=dict(
        decode_head=dict(num_classes=num_classes),
        auxiliary_head=dict(num_classes=num_classes)),
    teacher=dict(
        decode_head=dict(num_classes=num_classes),
        auxiliary_head=dict(num_classes=num_classes)),
    teacher_ckpt='https://download.openmmlab.com/mmsegmentation/v0.5/deeplabv3/deeplabv3_r101-d8_512x512_80k_ade20k/deeplabv3_r101-d8_512x512_80k_ade20k_20200615_021256-d89c7fa4.pth')  # noqa: E501

# Validate the student and the teacher on the same data; the teacher's
# metrics are logged with a ``teacher.`` prefix (``teacher.mIoU``).
val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
