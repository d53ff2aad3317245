# SegFormer MiT-B5 (teacher, a transformer) -> DeepLabV3 R18-D8 (student, a
# CNN) on Cityscapes, 512x1024 crops, MMSegmentation's 80k schedule (4 GPUs x
# 2 images, the student's recipe): the case TaT's one-to-all matching is
# meant for, teacher and student seeing the image differently.  Everything
# but the distiller: a distillation config inherits this file and sets
# ``model.distiller`` only.
_base_ = [
    './deeplabv3_r101_r18_distill_cityscapes.py',
    './networks/segformer_mit.py',
]

# The teacher: MMSegmentation's released
# segformer_mit-b5_8xb1-160k_cityscapes-1024x1024 (82.25 mIoU,
# configs/segformer/metafile.yaml of MMSegmentation 1.2.2), MMSegmentation's
# segformer_mit-b5 network (./networks/segformer_mit.py) with Cityscapes' 19
# classes.  It was trained on 1024x1024 crops; here it sees the student's
# 512x1024 crops (its features are resolution-agnostic) and is validated as
# MMSegmentation tests it (sliding 1024x1024 windows).  Its ``decode_head.fusion_conv`` (the fused decoder
# feature, 256 channels at 1/4 of the input), before its ReLU, is the
# feature TaT distils.
# Offline, point it at a local copy:
#   --cfg-options model.teacher_ckpt=/path/to/segformer_mit-b5_8x1_1024x1024_160k_cityscapes_20211206_072934-87a052ec.pth
_base_.segformer_mitb5.decode_head.num_classes = _base_.num_classes
_base_.segformer_mitb5.test_cfg = dict(
    mode='slide', crop_size=(1024, 1024), stride=(768, 768))
model = dict(
    teacher=dict(_delete_=True, **_base_.segformer_mitb5),
    teacher_ckpt='https://download.openmmlab.com/mmsegmentation/v0.5/segformer/segformer_mit-b5_8x1_1024x1024_160k_cityscapes/segformer_mit-b5_8x1_1024x1024_160k_cityscapes_20211206_072934-87a052ec.pth')  # noqa: E501
