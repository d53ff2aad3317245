# DeepLabV3+ R101-D8 (teacher) -> R18-D8 (student) on COCO-Stuff10k,
# 512x512 crops, MMSegmentation's 40k schedule (4 GPUs x 4 images).
# Everything but the distiller: a distillation config inherits this file and
# sets ``model.distiller`` only.
_base_ = [
    'mmseg::_base_/datasets/coco-stuff10k.py',
    'mmseg::_base_/schedules/schedule_40k.py',
    'mmseg::_base_/default_runtime.py',
    './deeplabv3plus_r101_r18_distill.py',
]

crop_size = (512, 512)
num_classes = 171

# The teacher: MMSegmentation 1.2.2 releases no DeepLabV3+ for COCO-Stuff10k,
# so it is trained first with MMSegmentation's recipe for this dataset:
#   python tools/train.py configs/baselines/deeplabv3plus_r101_cocostuff10k.py
# whose last checkpoint is the path below (relative to the directory you
# train from).  Elsewhere:
#   --cfg-options model.teacher_ckpt=/path/to/iter_40000.pth
model = dict(
    data_preprocessor=dict(size=crop_size),
    architecture=dict(
        decode_head=dict(num_classes=num_classes),
        auxiliary_head=dict(num_classes=num_classes)),
    teacher=dict(
        decode_head=dict(num_classes=num_classes),
        auxiliary_head=dict(num_classes=num_classes)),
    teacher_ckpt='work_dirs/deeplabv3plus_r101_cocostuff10k/iter_40000.pth')

# Validate the student and the teacher on the same data; the teacher's
# metrics are logged with a ``teacher.`` prefix (``teacher.mIoU``).
val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
