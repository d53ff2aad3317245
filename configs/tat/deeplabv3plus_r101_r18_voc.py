# TaT on the authors' release's pair and feature (Lin et al., CVPR 2022):
# DeepLabV3+ R101-D8 -> DeepLabV3+ R18-D8, the decoder's last feature before
# its ReLU, with MMSegmentation's recipe: Pascal VOC 2012 + aug, 512x512
# crops, 40k iterations (4 GPUs x 4 images).  The release's own recipe is
# deeplabv3plus_r101_r18_voc_release.py.
_base_ = [
    '../_base_/deeplabv3plus_r101_r18_distill_voc.py',
    '../_base_/distillers/tat.py',
]

# The release distils DeepLabV3+'s last decoder feature before its last
# ReLU (stride 4: 129x129 for its 513x513 crops).  Here that is
# ``decode_head.sep_bottleneck`` of MMSegmentation's DeepLabV3+ (512
# channels in R101, 128 in R18, stride 4: 128x128 for 512x512 crops), where
# the release's VOC numbers (../_base_/distillers/tat.py) apply as they are:
# patch grid 16 -> 8x8 patches (256 of them), 64 heads -> 4 patches per
# group, anchor grid 32 -> 4x4 windows (32x32 anchors), alpha / beta / gamma
# = 0.1 / 1.0 / 0.4.  Written in positions, as in every mmtat config.
# (MMSegmentation's DeepLabV3+ is output stride 8, the release's 16: only the
# ASPP branch differs, the distilled stride-4 feature is the same kind.)
model = dict(distiller=dict(
    _base_.tat_sep_bottleneck_voc, input_size=_base_.crop_size))
