# TaT: Target-aware Transformer distillation (Lin et al., CVPR 2022),
# DeepLabV3 R101-D8 -> DeepLabV3 R18-D8, CamVid (11 classes), 384x384 crops,
# 20k iterations on one GPU (1 x 8 images).  Train the teacher first
# (configs/baselines/deeplabv3_r101_camvid.py).
_base_ = [
    '../_base_/deeplabv3_r101_r18_distill_camvid.py',
    '../_base_/distillers/tat.py',
]

# The release's VOC setting (../_base_/distillers/tat.py) in positions, as
# for Cityscapes (11 classes of road scenes): on the 48x48 bottleneck map of
# a 384x384 crop, 8x8 patches (6x6 = 36 of them, 9 groups of 4) and 4x4
# anchor windows (12x12 anchors); the crop is 384x384 rather than CamVid's
# 360x480 so that whole patches fill whole groups (a 45x60 map would give
# 5x7 = 35 patches).
model = dict(distiller=dict(
    _base_.tat_bottleneck_voc, input_size=_base_.crop_size))
