# TaT: Target-aware Transformer distillation (Lin et al., CVPR 2022),
# DeepLabV3 R101-D8 -> DeepLabV3 R18-D8, ADE20K (150 classes), 512x512
# crops, 80k iterations (MMSegmentation's schedule, 4 GPUs x 4 images).
_base_ = [
    '../_base_/deeplabv3_r101_r18_distill_ade20k.py',
    '../_base_/distillers/tat.py',
]

# The release ran no ADE20K.  Of its two settings
# (../_base_/distillers/tat.py), COCO-Stuff10k's is kept: ADE20K is, like
# COCO-Stuff, scene parsing with many (150 vs. 171) thing and stuff classes,
# many of them small regions in cluttered scenes, for which the release
# chose finer patches than for VOC's 21 classes of large objects.  In
# positions (see deeplabv3_r101_r18_cocostuff10k.py): on the 64x64 pre-ReLU
# bottleneck map (BatchNorm output, as the release distils its decoder
# feature) 4x4-position patches (256 of them), 2 per group (128 heads), 4x4
# anchor windows (16x16 anchors); alpha / beta / gamma = 0.6 / 1.0 / 1.0.
# Not tuned on ADE20K.
model = dict(distiller=dict(
    _base_.tat_bottleneck_cocostuff10k, input_size=_base_.crop_size))
