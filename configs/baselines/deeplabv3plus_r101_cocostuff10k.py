# Teacher to train first for the DeepLabV3+ COCO-Stuff10k distillations
# (configs/tat/deeplabv3plus_r101_r18_cocostuff10k.py and its KD / CWD
# baselines): DeepLabV3+ R101-D8 on COCO-Stuff10k, 512x512 crops, 40k
# iterations (4 GPUs x 4 images).  MMSegmentation 1.2.2 releases no
# DeepLabV3+ model for this dataset; this is its DeepLabV3+ network with its
# own COCO-Stuff10k recipe (that of deeplabv3_r50-d8_4xb4-40k_coco-stuff10k-
# 512x512.py) and ResNet-101 as in its VOC DeepLabV3+ R101 config.  A plain
# MMSegmentation config.  Train it with
#   python tools/train.py configs/baselines/deeplabv3plus_r101_cocostuff10k.py
# so that its last checkpoint lands where the distillation configs look:
# work_dirs/deeplabv3plus_r101_cocostuff10k/iter_40000.pth.
_base_ = [
    'mmseg::_base_/models/deeplabv3plus_r50-d8.py',
    'mmseg::_base_/datasets/coco-stuff10k.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_40k.py',
    '../_base_/mmtat_runtime.py'  # mmtat's hooks
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(depth=101),
    decode_head=dict(num_classes=171),
    auxiliary_head=dict(num_classes=171))
