# DeepLabV3 R101-D8 (teacher) -> R18-D8 (student) on Cityscapes, 512x1024
# crops, MMSegmentation's 80k schedule (4 GPUs x 2 images): the pair most
# segmentation-distillation papers report.  Everything but the distiller: a
# distillation config inherits this file and sets ``model.distiller`` only.
_base_ = [
    'mmseg::_base_/datasets/cityscapes.py',
    'mmseg::_base_/schedules/schedule_80k.py',
    'mmseg::_base_/default_runtime.py',
    './deeplabv3_r101_r18_distill.py',
]

crop_size = (512, 1024)
num_classes = 19

# The teacher: MMSegmentation's released
# deeplabv3_r101-d8_4xb2-80k_cityscapes-512x1024 (80.20 mIoU,
# configs/deeplabv3/metafile.yaml of MMSegmentation 1.2.2); the student is
# its deeplabv3_r18-d8_4xb2-80k_cityscapes-512x1024 network (76.70 mIoU
# trained alone, same metafile).  Offline, point the teacher at a local copy:
#   --cfg-options model.teacher_ckpt=/path/to/deeplabv3_r101-d8_512x1024_80k_cityscapes_20200606_113503-9e428899.pth
model = dict(
    data_preprocessor=dict(size=crop_size),
    architecture=dict(
        decode_head=dict(num_classes=num_classes),
        auxiliary_head=dict(num_classes=num_classes)),
    teacher=dict(
        decode_head=dict(num_classes=num_classes),
        auxiliary_head=dict(num_classes=num_classes)),
    teacher_ckpt='https://download.openmmlab.com/mmsegmentation/v0.5/deeplabv3/deeplabv3_r101-d8_512x1024_80k_cityscapes/deeplabv3_r101-d8_512x1024_80k_cityscapes_20200606_113503-9e428899.pth')  # noqa: E501

# Validate the student and the teacher on the same data; the teacher's
# metrics are logged with a ``teacher.`` prefix (``teacher.mIoU``).
val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
