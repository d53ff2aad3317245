# TaT: Target-aware Transformer distillation (Lin et al., CVPR 2022),
# DeepLabV3 R101-D8 -> DeepLabV3 R18-D8, COCO-Stuff10k, 512x512 crops,
# 40k iterations (MMSegmentation's schedule, 4 GPUs x 4 images).
_base_ = [
    '../_base_/deeplabv3_r101_r18_distill_cocostuff10k.py',
    '../_base_/distillers/tat.py',
]

# The release's COCO-Stuff10k setting (../_base_/distillers/tat.py; its
# Pascal VOC script uses 8x8 patches and 4 patches per group instead, see
# deeplabv3_r101_r18_voc.py).  Here the distilled feature is
# ``decode_head.bottleneck`` of MMSegmentation's DeepLabV3 (output stride 8):
# 512 channels (teacher) and 128 (student) on a 64x64 map for 512x512
# crops.  The release's geometry is kept in feature-map positions: 4x4
# patches (256 of them here), 2 patches per group (128 heads here), a 4x4
# anchor window (16x16 anchors here); alpha, beta, gamma as in the release's
# COCO-Stuff script.
model = dict(distiller=dict(
    _base_.tat_bottleneck_cocostuff10k, input_size=_base_.crop_size))
