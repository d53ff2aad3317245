# Student-only baseline of the DeepLabV3+ MobileNetV2 ADE20K distillations:
# MMSegmentation's own mobilenet-v2-d8_deeplabv3plus_4xb4-160k_ade20k-512x512
# (34.02 mIoU, released; configs/mobilenet_v2/metafile.yaml of
# MMSegmentation 1.2.2), the student of
# configs/tat/deeplabv3plus_r101_mobilenetv2_ade20k.py, unchanged but for
# mmtat's run-time hooks.
_base_ = [
    'mmseg::mobilenet_v2/mobilenet-v2-d8_deeplabv3plus_4xb4-160k_ade20k-512x512.py',  # noqa: E501
    '../_base_/mmtat_runtime.py',  # mmtat's hooks
]
