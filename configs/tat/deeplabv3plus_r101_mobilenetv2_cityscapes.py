# TaT, DeepLabV3+ R101-D8 -> DeepLabV3+ MobileNetV2-D8 on Cityscapes with
# MMSegmentation's recipe of both networks: 512x1024 crops, 80k iterations
# (4 GPUs x 2 images); teacher and student alone are MMSegmentation's
# releases (80.97 and 75.20 mIoU).  The decoder's last feature before its
# ReLU, as the release distils it.
_base_ = [
    '../_base_/deeplabv3plus_r101_mobilenetv2_distill_cityscapes.py',
    '../_base_/distillers/tat_mobilenetv2.py',
]

# The release ran no Cityscapes: its MobileNetV2 VOC setting is kept, as
# the ResNet-18 Cityscapes configs keep its ResNet-18 VOC one (19 classes of
# mostly large regions), in positions of the map (../_base_/distillers/
# tat_mobilenetv2.py): on the 128x256 ``decode_head.sep_bottleneck`` map of
# a 512x1024 crop, 4x4 patches (32x64 = 2048 of them) one per group, and
# 2x2 anchor windows: 64x128 = 8192 anchors, one head attending over all of
# them.  The 2x2 window, not the ResNet-18 script's 4x4 (2048 anchors), so
# that each anchor pools the same 8x8 pixels of the image as in the
# release's MobileNetV2 setting; the anchors still cover the whole crop, 2x
# the positions of VOC's 4096.  Its attention, 8192 x 8192 per image
# (256 MiB in float32 if it were held), is computed in query chunks and
# recomputed in backward (TaTLoss does so from 2048 positions per head), so
# none is held; its time grows with the square of the positions:
# docs/en/performance.md, "The MobileNetV2 pairs".  Weights: beta / gamma =
# 1.0 / 0.5, loss_weight = alpha * lr_release / lr = 0.1 * 0.004 / 0.01 =
# 0.04 (MMSegmentation's Cityscapes lr is 0.01, as its VOC one).
model = dict(distiller=dict(
    _base_.tat_sep_bottleneck_voc_mobilenetv2, input_size=_base_.crop_size))
