# Student-only baseline of the CamVid distillations: DeepLabV3 R18-D8 on
# CamVid (11 classes), 384x384 crops, 20k iterations on one GPU (1 x 8
# images).  The teacher config deeplabv3_r101_camvid.py with the R18-D8
# network of MMSegmentation's deeplabv3_r18-d8 configs
# (../_base_/networks/deeplabv3.py: the student of
# configs/tat/deeplabv3_r101_r18_camvid.py).
_base_ = [
    './deeplabv3_r101_camvid.py',
    '../_base_/networks/deeplabv3.py',
]

model = {{_base_.deeplabv3_r18}}
