# Student-only baseline of the DeepLabV3+ MobileNetV2 COCO-Stuff10k
# distillations: DeepLabV3+ MobileNetV2-D8 on COCO-Stuff10k, 512x512 crops,
# 40k iterations (4 GPUs x 4 images).  The teacher config
# deeplabv3plus_r101_cocostuff10k.py with the network of MMSegmentation's
# mobilenet-v2-d8_deeplabv3plus configs (../_base_/networks/deeplabv3.py:
# the student of configs/tat/deeplabv3plus_r101_mobilenetv2_cocostuff10k.py).
_base_ = [
    './deeplabv3plus_r101_cocostuff10k.py',
    '../_base_/networks/deeplabv3.py',
]

# with the cross-entropy of the release's pair's tables (a mean over the
# valid pixels, as the release's)
model = {{_base_.deeplabv3plus_mobilenetv2_valid_mean}}
