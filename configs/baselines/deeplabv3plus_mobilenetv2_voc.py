# Student-only baseline of the DeepLabV3+ MobileNetV2 VOC distillations:
# DeepLabV3+ MobileNetV2-D8 on Pascal VOC 2012 + aug, 512x512 crops, 40k
# iterations (4 GPUs x 4 images).  MMSegmentation ships no MobileNetV2 model
# for this dataset, so this is its DeepLabV3+ R50 VOC config with the
# network of its mobilenet-v2-d8_deeplabv3plus configs
# (../_base_/networks/deeplabv3.py: the student of
# configs/tat/deeplabv3plus_r101_mobilenetv2_voc.py).  A plain
# MMSegmentation config.
_base_ = [
    'mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb4-40k_voc12aug-512x512.py',
    '../_base_/networks/deeplabv3.py',
    '../_base_/mmtat_runtime.py',  # mmtat's hooks
]

# with the cross-entropy of the release's pair's tables (a mean over the
# valid pixels, as the release's)
model = {{_base_.deeplabv3plus_mobilenetv2_valid_mean}}
