# DeepLabV3+ R101-D8 (teacher) -> DeepLabV3+ MobileNetV2-D8 (student) on
# ADE20K (150 classes, reduce_zero_label), 512x512 crops, MMSegmentation's
# 160k schedule (4 GPUs x 4 images): MMSegmentation's own recipe of both
# networks (its mobilenet-v2-d8_deeplabv3plus ADE20K config is its
# deeplabv3plus_r101-d8_4xb4-160k_ade20k-512x512 with the backbone
# replaced).  Everything but the distiller: a distillation config inherits
# this file and sets ``model.distiller`` only.
_base_ = [
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/schedules/schedule_160k.py',
    'mmseg::_base_/default_runtime.py',
    './deeplabv3_r101_r18_distill.py',
]

crop_size = (512, 512)
num_classes = 150

# The teacher: MMSegmentation's released
# deeplabv3plus_r101-d8_4xb4-160k_ade20k-512x512 (45.47 mIoU); the student
# is its mobilenet-v2-d8_deeplabv3plus_4xb4-160k_ade20k-512x512 network
# (34.02 mIoU trained alone; configs/deeplabv3plus and configs/mobilenet_v2
# metafile.yaml of MMSegmentation 1.2.2).  It is written into ``model``
# only (no top-level variable), so that one override replaces it everywhere.
# Offline, point it at a local copy:
#   --cfg-options model.teacher_ckpt=/path/to/deeplabv3plus_r101-d8_512x512_160k_ade20k_20200615_123232-38ed86bb.pth
model = dict(
    data_preprocessor=dict(size=crop_size),
    architecture=dict(
        _base_.deeplabv3plus_mobilenetv2,
        decode_head=dict(
            _base_.deeplabv3plus_mobilenetv2['decode_head'],
            num_classes=num_classes),
        auxiliary_head=dict(
            _base_.deeplabv3plus_mobilenetv2['auxiliary_head'],
            num_classes=num_classes)),
    teacher=dict(
        _base_.deeplabv3plus_r101,
        decode_head=dict(
            _base_.deeplabv3plus_r101['decode_head'],
            num_classes=num_classes),
        auxiliary_head=dict(
            _base_.deeplabv3plus_r101['auxiliary_head'],
            num_classes=num_classes)),
    teacher_ckpt='https://download.openmmlab.com/mmsegmentation/v0.5/deeplabv3plus/deeplabv3plus_r101-d8_512x512_160k_ade20k/deeplabv3plus_r101-d8_512x512_160k_ade20k_20200615_123232-38ed86bb.pth')  # noqa: E501

# Validate the student and the teacher on the same data; the teacher's
# metrics are logged with a ``teacher.`` prefix (``teacher.mIoU``).
val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
