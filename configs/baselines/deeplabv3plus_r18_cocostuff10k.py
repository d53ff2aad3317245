# Student-only baseline of the DeepLabV3+ COCO-Stuff10k distillations:
# DeepLabV3+ R18-D8 on COCO-Stuff10k, 512x512 crops, 40k iterations (4 GPUs
# x 4 images).  The teacher config deeplabv3plus_r101_cocostuff10k.py turned
# into R18 the way MMSegmentation's deeplabv3plus_r18-d8 configs do (the
# student of configs/tat/deeplabv3plus_r101_r18_cocostuff10k.py).
_base_ = './deeplabv3plus_r101_cocostuff10k.py'

model = dict(
    pretrained='open-mmlab://resnet18_v1c',
    backbone=dict(depth=18),
    # the cross-entropy of every config of the DeepLabV3+ tables: a mean
    # over the valid pixels, as the release's (configs/tat/README.md)
    decode_head=dict(
        c1_in_channels=64,
        c1_channels=12,
        in_channels=512,
        channels=128,
        loss_decode=dict(avg_non_ignore=True)),
    auxiliary_head=dict(
        in_channels=256, channels=64, loss_decode=dict(avg_non_ignore=True)))
