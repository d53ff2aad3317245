# TaT, DeepLabV3+ R101-D8 -> DeepLabV3+ MobileNetV2-D8 on ADE20K with
# MMSegmentation's recipe of both networks: 512x512 crops, 160k iterations
# (4 GPUs x 4 images); teacher and student alone are MMSegmentation's
# releases (45.47 and 34.02 mIoU).  The decoder's last feature before its
# ReLU, as the release distils it.
_base_ = [
    '../_base_/deeplabv3plus_r101_mobilenetv2_distill_ade20k.py',
    '../_base_/distillers/tat_mobilenetv2.py',
]

# The release ran no ADE20K: its MobileNetV2 COCO-Stuff10k setting is kept,
# as the ResNet-18 ADE20K configs keep its ResNet-18 COCO-Stuff10k one
# (scene parsing with many thing and stuff classes), in positions of the map
# (../_base_/distillers/tat_mobilenetv2.py): on the 128x128
# ``decode_head.sep_bottleneck`` map of a 512x512 crop, 8x8 patches (256)
# four per group, 4x4 anchor windows (1024 anchors); beta / gamma = 1.0 /
# 1.0, loss_weight = alpha * lr_release / lr = 0.4 * 0.007 / 0.01 = 0.28
# (MMSegmentation's ADE20K lr is 0.01).
model = dict(distiller=dict(
    _base_.tat_sep_bottleneck_cocostuff10k_mobilenetv2,
    input_size=_base_.crop_size))
