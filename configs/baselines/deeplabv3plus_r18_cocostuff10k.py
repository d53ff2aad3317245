# Student-only baseline of the DeepLabV3+ COCO-Stuff10k distillations:
# DeepLabV3+ R18-D8 on COCO-Stuff10k, 512x512 crops, 40k iterations (4 GPUs
# x 4 images).  The teacher config deeplabv3plus_r101_cocostuff10k.py turned
# into R18 the way MMSegmentation's deeplabv3plus_r18-d8 configs do (the
# student of configs/tat/deeplabv3plus_r101_r18_cocostuff10k.py).
_base_ = [
    './deeplabv3plus_r101_cocostuff10k.py',
    '../_base_/networks/r18_students.py',
]

# with the cross-entropy of the DeepLabV3+ tables (a mean over the valid
# pixels, as the release's)
model = {{_base_.deeplabv3plus_r18_student}}
