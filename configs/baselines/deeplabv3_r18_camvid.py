# Student-only baseline of the CamVid distillations: DeepLabV3 R18-D8 on
# CamVid (11 classes), 384x384 crops, 20k iterations on one GPU (1 x 8
# images).  The teacher config deeplabv3_r101_camvid.py turned into R18 the
# way MMSegmentation's deeplabv3_r18-d8 configs do (the student of
# configs/tat/deeplabv3_r101_r18_camvid.py).
_base_ = [
    './deeplabv3_r101_camvid.py',
    '../_base_/networks/r18_students.py',
]

model = {{_base_.deeplabv3_r18_student}}
