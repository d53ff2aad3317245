# TaT on the authors' release's second pair (Lin et al., CVPR 2022):
# DeepLabV3+ R101-D8 -> DeepLabV3+ MobileNetV2-D8, the decoder's last feature
# before its ReLU, with MMSegmentation's recipe: Pascal VOC 2012 + aug,
# 512x512 crops, 40k iterations (4 GPUs x 4 images).  The release's own
# recipe is deeplabv3plus_r101_mobilenetv2_voc_release.py.
_base_ = [
    '../_base_/deeplabv3plus_r101_mobilenetv2_distill_voc.py',
    '../_base_/distillers/tat_mobilenetv2.py',
]

# ``decode_head.sep_bottleneck`` of both networks (512 channels each,
# stride 4: 128x128 for 512x512 crops, the release's 129x129 feature) with
# the release's MobileNetV2 VOC setting (../_base_/distillers/
# tat_mobilenetv2.py): patch grid 32 -> 4x4 patches (1024 of them), 1024
# heads -> 1 patch per group, anchor grid 64 -> 2x2 windows (64x64 = 4096
# anchors, one head over all of them), beta / gamma = 1.0 / 0.5, and
# loss_weight = alpha * lr_release / lr = 0.1 * 0.004 / 0.01 = 0.04.
model = dict(distiller=dict(
    _base_.tat_sep_bottleneck_voc_mobilenetv2, input_size=_base_.crop_size))
