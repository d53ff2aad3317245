# Student-only baseline of the DeepLabV3+ COCO-Stuff10k distillations:
# DeepLabV3+ R18-D8 on COCO-Stuff10k, 512x512 crops, 40k iterations (4 GPUs
# x 4 images).  The teacher config deeplabv3plus_r101_cocostuff10k.py with
# the R18-D8 network of MMSegmentation's deeplabv3plus_r18-d8 configs
# (../_base_/networks/deeplabv3.py: the student of
# configs/tat/deeplabv3plus_r101_r18_cocostuff10k.py).
_base_ = [
    './deeplabv3plus_r101_cocostuff10k.py',
    '../_base_/networks/deeplabv3.py',
]

# with the cross-entropy of the DeepLabV3+ tables (a mean over the valid
# pixels, as the release's)
model = {{_base_.deeplabv3plus_r18}}
