# DeepLabV3 R101-D8 (teacher) -> R18-D8 (student) on CamVid (11 classes,
# SegNet tutorial layout), 384x384 crops, 20k iterations on one GPU (1 x 8
# images): a small real benchmark that trains in hours.  Everything but the
# distiller: a distillation config inherits this file and sets
# ``model.distiller`` only.
_base_ = [
    './datasets/camvid.py',
    'mmseg::_base_/schedules/schedule_20k.py',
    'mmseg::_base_/default_runtime.py',
    './deeplabv3_r101_r18_distill.py',
]

crop_size = (384, 384)
num_classes = 11

# The teacher: MMSegmentation releases no CamVid model, so it is trained
# first with
#   python tools/train.py configs/baselines/deeplabv3_r101_camvid.py
# whose last checkpoint is the path below (relative to the directory you
# train from).  Elsewhere:
#   --cfg-options model.teacher_ckpt=/path/to/iter_20000.pth
model = dict(
    data_preprocessor=dict(size=crop_size),
    architecture=dict(
        decode_head=dict(num_classes=num_classes),
        auxiliary_head=dict(num_classes=num_classes)),
    teacher=dict(
        decode_head=dict(num_classes=num_classes),
        auxiliary_head=dict(num_classes=num_classes)),
    teacher_ckpt='work_dirs/deeplabv3_r101_camvid/iter_20000.pth')

# Validate the student and the teacher on the same data; the teacher's
# metrics are logged with a ``teacher.`` prefix (``teacher.mIoU``).
val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
