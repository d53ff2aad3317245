# MMSegmentation's DeepLabV3 and DeepLabV3+ networks of mmtat's tables, each
# written once: ResNetV1c at output stride 8 (its *-d8 configs), the R18-D8
# student and the R101-D8 teacher.  They are the networks of
# mmseg::_base_/models/deeplabv3_r50-d8.py and deeplabv3plus_r50-d8.py with
# the changes of MMSegmentation's own deeplabv3(plus)_r18-d8 and _r101-d8
# configs.  New names only (``deeplabv3_r18``, ``deeplabv3_r101``,
# ``deeplabv3plus_r18``, ``deeplabv3plus_r101``): the distillation bases put
# them in place as their student and teacher,
#   model = dict(architecture=_base_.deeplabv3_r18,
#                teacher=_base_.deeplabv3_r101)
# and a student-only config merges one into its MMSegmentation config,
#   model = {{_base_.deeplabv3_r18}}
# (mmengine refuses a key that two bases of one config define, hence no
# ``model`` or ``norm_cfg`` here).  The class count is the dataset's: the
# config that uses a network sets ``num_classes`` of both heads.
#
# Written out rather than read from MMSegmentation's configs (``cfg_path``)
# so that their ``pretrained`` keys can be overridden from the command line,
# e.g. for an offline run:
#   --cfg-options model.teacher_ckpt=None model.teacher.pretrained=None \
#                 model.architecture.pretrained=None

# Student: MMSegmentation's deeplabv3_r18-d8 (output stride 8).
# ``decode_head.bottleneck`` gives 128 channels at 1/8 of the input.
# MMSegmentation's DeepLabV3 configs train with SyncBN.  mmengine turns it
# into BatchNorm when the run is not distributed; a distributed run on CPU
# (gloo) has to override the three ``norm_cfg`` of the student with BN.
deeplabv3_r18 = dict(
    _scope_='mmseg',
    type='EncoderDecoder',
    pretrained='open-mmlab://resnet18_v1c',
    backbone=dict(
        type='ResNetV1c',
        depth=18,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        contract_dilation=True),
    decode_head=dict(
        type='ASPPHead',
        in_channels=512,
        in_index=3,
        channels=128,
        dilations=(1, 12, 24, 36),
        dropout_ratio=0.1,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=256,
        in_index=2,
        channels=64,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

# Teacher: MMSegmentation's deeplabv3_r101-d8, the same network on
# ResNet-101.  ``decode_head.bottleneck`` gives 512 channels at 1/8 of the
# input.
deeplabv3_r101 = dict(
    deeplabv3_r18,
    pretrained='open-mmlab://resnet101_v1c',
    backbone=dict(deeplabv3_r18['backbone'], depth=101),
    decode_head=dict(
        deeplabv3_r18['decode_head'], in_channels=2048, channels=512),
    auxiliary_head=dict(
        deeplabv3_r18['auxiliary_head'], in_channels=1024, channels=256))

# DeepLabV3+ (``DepthwiseSeparableASPPHead``: the ASPP output fused with the
# stride-4 backbone feature, c1, in the decoder).
# Student: MMSegmentation's deeplabv3plus_r18-d8 (its Cityscapes recipe),
# whose decoder also narrows c1, with one change shared by every config of
# the DeepLabV3+ tables (the student-only baselines too): the cross-entropy
# is a mean over the valid pixels (``avg_non_ignore=True``), as the
# release's, so that the TaT weight carries the release's TaT-to-CE ratio
# exactly; MMSegmentation's default divides by all pixels of the padded crop
# (docs/en/hyperparameters.md, "Loss scale for MMSegmentation's recipe").
# ``decode_head.sep_bottleneck``, the decoder's fusion of the ASPP output
# with the stride-4 backbone feature, gives 128 channels at 1/4 of the input
# (128x128 for 512x512 crops).
deeplabv3plus_r18 = dict(
    deeplabv3_r18,
    decode_head=dict(
        deeplabv3_r18['decode_head'],
        type='DepthwiseSeparableASPPHead',
        c1_in_channels=64,
        c1_channels=12,
        loss_decode=dict(
            deeplabv3_r18['decode_head']['loss_decode'],
            avg_non_ignore=True)),
    auxiliary_head=dict(
        deeplabv3_r18['auxiliary_head'],
        loss_decode=dict(
            deeplabv3_r18['auxiliary_head']['loss_decode'],
            avg_non_ignore=True)))
# Teacher: MMSegmentation's deeplabv3plus_r101-d8.
# ``decode_head.sep_bottleneck`` gives 512 channels at 1/4 of the input.
deeplabv3plus_r101 = dict(
    deeplabv3_r101,
    decode_head=dict(
        deeplabv3_r101['decode_head'],
        type='DepthwiseSeparableASPPHead',
        c1_in_channels=256,
        c1_channels=48))

# DeepLabV3+ MobileNetV2-D8, the second student of the authors' release:
# MMSegmentation's mobilenet-v2-d8_deeplabv3plus_* network, which is its
# DeepLabV3+ R101-D8 config with the backbone replaced by ``MobileNetV2``
# (dilated to output stride 8) and the heads' inputs narrowed: the stride-8
# 320-channel stage into the ASPP, the stride-4 24-channel stage as c1,
# the 96-channel stage into the auxiliary head.  The decoder keeps the
# R101-D8 widths, so ``decode_head.sep_bottleneck`` gives 512 channels at
# 1/4 of the input, as the teacher's.  ImageNet weights:
# ``mmcls://mobilenet_v2`` (mmengine's CheckpointLoader resolves the name
# with its own table of MMClassification's releases and downloads it; the
# mmcls package is not imported).  As MMSegmentation trains and releases
# it (its cross-entropy divided by all pixels of the crop): the Cityscapes
# and ADE20K tables, whose student alone is MMSegmentation's release.
deeplabv3plus_mobilenetv2 = dict(
    deeplabv3plus_r101,
    pretrained='mmcls://mobilenet_v2',
    backbone=dict(
        _delete_=True,  # merged into a ResNet network: nothing of it stays
        type='MobileNetV2',
        widen_factor=1.,
        strides=(1, 2, 2, 1, 1, 1, 1),
        dilations=(1, 1, 1, 2, 2, 4, 4),
        out_indices=(1, 2, 4, 6),
        norm_cfg=dict(type='SyncBN', requires_grad=True)),
    decode_head=dict(
        deeplabv3plus_r101['decode_head'], in_channels=320,
        c1_in_channels=24),
    auxiliary_head=dict(deeplabv3plus_r101['auxiliary_head'], in_channels=96))
# The same network with the cross-entropy of the release's pair's tables
# (Pascal VOC, COCO-Stuff10k), a mean over the valid pixels, as
# ``deeplabv3plus_r18``'s.
deeplabv3plus_mobilenetv2_valid_mean = dict(
    deeplabv3plus_mobilenetv2,
    decode_head=dict(
        deeplabv3plus_mobilenetv2['decode_head'],
        loss_decode=dict(
            deeplabv3plus_mobilenetv2['decode_head']['loss_decode'],
            avg_non_ignore=True)),
    auxiliary_head=dict(
        deeplabv3plus_mobilenetv2['auxiliary_head'],
        loss_decode=dict(
            deeplabv3plus_mobilenetv2['auxiliary_head']['loss_decode'],
            avg_non_ignore=True)))
