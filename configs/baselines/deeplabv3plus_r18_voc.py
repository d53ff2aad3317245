# Student-only baseline of the DeepLabV3+ VOC distillations: DeepLabV3+
# R18-D8 on Pascal VOC 2012 + aug, 512x512 crops, 40k iterations (4 GPUs x 4
# images).  MMSegmentation ships no R18 DeepLabV3+ for this dataset, so this
# is its R50 config with the R18-D8 network of its deeplabv3plus_r18-d8
# configs (../_base_/networks/deeplabv3.py: the student of
# configs/tat/deeplabv3plus_r101_r18_voc.py).  A plain MMSegmentation config.
_base_ = [
    'mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb4-40k_voc12aug-512x512.py',
    '../_base_/networks/deeplabv3.py',
    '../_base_/mmtat_runtime.py',  # mmtat's hooks
]

# with the cross-entropy of the DeepLabV3+ tables (a mean over the valid
# pixels, as the release's)
model = {{_base_.deeplabv3plus_r18}}
