# The students of mmtat's tables written as MMSegmentation writes its own
# R18-D8 configs (deeplabv3_r18-d8_*, deeplabv3plus_r18-d8_*): the changes
# that turn its DeepLabV3 / DeepLabV3+ R50-D8 or R101-D8 network into R18-D8.
# New names only: a student-only config takes its dataset's R50 / R101
# config and this file as bases and merges the changes into the model,
#   model = {{_base_.deeplabv3_r18_student}}
# (mmengine refuses a key that two bases of one config define).
deeplabv3_r18_student = dict(
    pretrained='open-mmlab://resnet18_v1c',
    backbone=dict(depth=18),
    decode_head=dict(in_channels=512, channels=128),
    auxiliary_head=dict(in_channels=256, channels=64))
# DeepLabV3+ also narrows the decoder's stride-4 input (c1); its
# cross-entropy is the one of every config of the DeepLabV3+ tables, a mean
# over the valid pixels, as the release's (configs/tat/README.md)
deeplabv3plus_r18_student = dict(
    pretrained='open-mmlab://resnet18_v1c',
    backbone=dict(depth=18),
    decode_head=dict(
        c1_in_channels=64,
        c1_channels=12,
        in_channels=512,
        channels=128,
        loss_decode=dict(avg_non_ignore=True)),
    auxiliary_head=dict(
        in_channels=256, channels=64, loss_decode=dict(avg_non_ignore=True)))
