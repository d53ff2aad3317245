# TaT: Target-aware Transformer distillation (Lin et al., CVPR 2022),
# DeepLabV3 R101-D8 -> DeepLabV3 R18-D8, Pascal VOC 2012 + aug, 512x512
# crops, 40k iterations (MMSegmentation's schedule, 4 GPUs x 4 images).
_base_ = [
    '../_base_/deeplabv3_r101_r18_distill_voc.py',
    '../_base_/distillers/tat.py',
]

# The release's Pascal VOC setting (../_base_/distillers/tat.py).  Here the
# distilled feature is ``decode_head.bottleneck`` of MMSegmentation's
# DeepLabV3 (output stride 8): 512 channels (teacher) and 128 (student) on a
# 64x64 map for 512x512 crops.  The release's geometry is kept in
# feature-map positions: 8x8 patches (64 of them here), 4 patches per group
# (16 heads here), a 4x4 anchor window (16x16 anchors here).
model = dict(distiller=dict(
    _base_.tat_bottleneck_voc, input_size=_base_.crop_size))
