# Student-only baseline of the DeepLabV3+ MobileNetV2 Cityscapes
# distillations: MMSegmentation's own
# mobilenet-v2-d8_deeplabv3plus_4xb2-80k_cityscapes-512x1024 (75.20 mIoU,
# released; configs/mobilenet_v2/metafile.yaml of MMSegmentation 1.2.2), the
# student of configs/tat/deeplabv3plus_r101_mobilenetv2_cityscapes.py,
# unchanged but for mmtat's run-time hooks.
_base_ = [
    'mmseg::mobilenet_v2/mobilenet-v2-d8_deeplabv3plus_4xb2-80k_cityscapes-512x1024.py',  # noqa: E501
    '../_base_/mmtat_runtime.py',  # mmtat's hooks
]
