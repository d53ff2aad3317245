# TaT on the authors' release's second pair (Lin et al., CVPR 2022):
# DeepLabV3+ R101-D8 -> DeepLabV3+ MobileNetV2-D8, the decoder's last feature
# before its ReLU, with MMSegmentation's recipe: COCO-Stuff10k, 512x512
# crops, 40k iterations (4 GPUs x 4 images).  The teacher is trained first,
# see ../_base_/deeplabv3plus_r101_r18_distill_cocostuff10k.py.  The
# release's own recipe is deeplabv3plus_r101_mobilenetv2_cocostuff10k_release.py.
_base_ = [
    '../_base_/deeplabv3plus_r101_mobilenetv2_distill_cocostuff10k.py',
    '../_base_/distillers/tat_mobilenetv2.py',
]

# ``decode_head.sep_bottleneck`` (512 channels in both networks, 128x128 for
# 512x512 crops) with the release's MobileNetV2 COCO-Stuff10k setting
# (../_base_/distillers/tat_mobilenetv2.py): patch grid 16 -> 8x8 patches
# (256 of them), 64 heads -> 4 patches per group, anchor grid 32 -> 4x4
# windows (32x32 anchors), beta / gamma = 1.0 / 1.0, and loss_weight =
# alpha * lr_release / lr = 0.4 * 0.007 / 0.01 = 0.28.
model = dict(distiller=dict(
    _base_.tat_sep_bottleneck_cocostuff10k_mobilenetv2,
    input_size=_base_.crop_size))
