# Teacher to train first for the CamVid distillations
# (configs/tat/deeplabv3_r101_r18_camvid.py and its KD / CWD baselines):
# DeepLabV3 R101-D8 on CamVid (11 classes), 384x384 crops, 20k iterations on
# one GPU (1 x 8 images, lr 0.01 poly: MMSegmentation's 20k schedule).
# MMSegmentation has no CamVid dataset or model: the dataset is mmtat's
# (configs/_base_/datasets/camvid.py), the network MMSegmentation's
# DeepLabV3 R101-D8.  Train it with
#   python tools/train.py configs/baselines/deeplabv3_r101_camvid.py
# so that its last checkpoint lands where the distillation configs look:
# work_dirs/deeplabv3_r101_camvid/iter_20000.pth.
_base_ = [
    'mmseg::_base_/models/deeplabv3_r50-d8.py',
    '../_base_/datasets/camvid.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py',
    # imports mmtat (CamVidDataset is mmtat's), mmtat's hooks
    '../_base_/mmtat_runtime.py'
]
crop_size = (384, 384)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(depth=101),
    decode_head=dict(num_classes=11),
    auxiliary_head=dict(num_classes=11))
