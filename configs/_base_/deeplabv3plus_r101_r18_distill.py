# Shared model of every DeepLabV3+ R101-D8 -> R18-D8 distillation in mmtat
# (the pair of the authors' TaT release, DeepLabV3+ R101 -> R18, with
# MMSegmentation's networks and recipe; see configs/tat/README.md for what
# matches the release and what does not).
#
# This file holds no dataset, schedule or runtime (mmengine refuses keys
# defined by two bases of one config).  A distillation config inherits one
# of the dataset variants (``deeplabv3plus_r101_r18_distill_voc.py`` /
# ``..._cocostuff10k.py``, which add MMSegmentation's dataset, schedule and
# runtime, the class count and the teacher checkpoint) and sets only
# ``model.distiller``.
#
# Both networks are written out here (not referenced with ``cfg_path``) so
# that their ``pretrained`` keys can be overridden from the command line,
# e.g. for an offline run:
#   --cfg-options model.teacher_ckpt=None model.teacher.pretrained=None \
#                 model.architecture.pretrained=None

# custom_imports (``import mmtat``: mmtat.compat before MMRazor, TaTDistiller
# and TaTLoss registered) and mmtat's custom_hooks, which MMSegmentation's
# own tools/train.py builds too.
_base_ = ['./mmtat_runtime.py']

# MMSegmentation's DeepLabV3 configs train with SyncBN.  mmengine turns it
# into BatchNorm when the run is not distributed; a distributed run on CPU
# (gloo) has to override the three ``norm_cfg`` of the student with BN.
norm_cfg = dict(type='SyncBN', requires_grad=True)
# SingleTeacherDistill pre-processes a batch once and feeds it to both
# networks, so the pre-processor belongs to the algorithm (MMRazor's
# BaseAlgorithm); SingleTeacherDistillValLoop hands the same one to the
# teacher for its validation.  Student and teacher keep MMSegmentation's
# normalisation, so one pre-processor fits both.
data_preprocessor = dict(
    type='mmseg.SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)  # ``size`` (the crop) is set by the dataset variant

model = dict(
    _scope_='mmrazor',
    # mmtat's MMRazor SingleTeacherDistill (mmtat.models.algorithms): the
    # frozen teacher computes only what the distiller records, and the crop
    # is handed to a distiller that needs it (TaTDistiller's shape pass).
    type='LeanSingleTeacherDistill',
    data_preprocessor=data_preprocessor,
    # Student: MMSegmentation's deeplabv3plus_r18-d8 (its Cityscapes
    # recipe), with one change shared by every config of these tables (the
    # student-only baselines too): the cross-entropy is a mean over the
    # valid pixels (``avg_non_ignore=True``), as the release's, so that the
    # TaT weight carries the release's TaT-to-CE ratio exactly;
    # MMSegmentation's default divides by all pixels of the padded crop.  ``decode_head.sep_bottleneck``, the decoder's fusion of the
    # ASPP output with the stride-4 backbone feature, gives 128 channels at
    # 1/4 of the input (128x128 for 512x512 crops).
    architecture=dict(
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
            norm_cfg=norm_cfg,
            norm_eval=False,
            style='pytorch',
            contract_dilation=True),
        decode_head=dict(
            type='DepthwiseSeparableASPPHead',
            in_channels=512,
            in_index=3,
            channels=128,
            dilations=(1, 12, 24, 36),
            c1_in_channels=64,
            c1_channels=12,
            dropout_ratio=0.1,
            num_classes=None,  # set by the dataset variant
            norm_cfg=norm_cfg,
            align_corners=False,
            loss_decode=dict(
                type='CrossEntropyLoss',
                use_sigmoid=False,
                loss_weight=1.0,
                avg_non_ignore=True)),
        auxiliary_head=dict(
            type='FCNHead',
            in_channels=256,
            in_index=2,
            channels=64,
            num_convs=1,
            concat_input=False,
            dropout_ratio=0.1,
            num_classes=None,  # set by the dataset variant
            norm_cfg=norm_cfg,
            align_corners=False,
            loss_decode=dict(
                type='CrossEntropyLoss',
                use_sigmoid=False,
                loss_weight=0.4,
                avg_non_ignore=True)),
        train_cfg=dict(),
        test_cfg=dict(mode='whole')),
    # Teacher: MMSegmentation's deeplabv3plus_r101-d8; its weights come
    # from ``teacher_ckpt`` (set by the dataset variant), which also makes
    # ``teacher.pretrained`` unused whenever ``teacher_ckpt`` is set.
    # ``decode_head.sep_bottleneck`` gives 512 channels at 1/4 of the input.
    teacher=dict(
        _scope_='mmseg',
        type='EncoderDecoder',
        pretrained='open-mmlab://resnet101_v1c',
        backbone=dict(
            type='ResNetV1c',
            depth=101,
            num_stages=4,
            out_indices=(0, 1, 2, 3),
            dilations=(1, 1, 2, 4),
            strides=(1, 2, 1, 1),
            norm_cfg=norm_cfg,
            norm_eval=False,
            style='pytorch',
            contract_dilation=True),
        decode_head=dict(
            type='DepthwiseSeparableASPPHead',
            in_channels=2048,
            in_index=3,
            channels=512,
            dilations=(1, 12, 24, 36),
            c1_in_channels=256,
            c1_channels=48,
            dropout_ratio=0.1,
            num_classes=None,  # set by the dataset variant
            norm_cfg=norm_cfg,
            align_corners=False,
            loss_decode=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
        auxiliary_head=dict(
            type='FCNHead',
            in_channels=1024,
            in_index=2,
            channels=256,
            num_convs=1,
            concat_input=False,
            dropout_ratio=0.1,
            num_classes=None,  # set by the dataset variant
            norm_cfg=norm_cfg,
            align_corners=False,
            loss_decode=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
        train_cfg=dict(),
        test_cfg=dict(mode='whole')),
    teacher_ckpt=None,  # set by the dataset variant
    # The teacher is frozen (requires_grad=False) with its BN layers in eval
    # mode (MMRazor's defaults): it computes the features its published mIoU
    # was measured with, whatever the batch.  The authors' release runs its
    # teacher in train mode (batch statistics, running ones updated); the
    # *_release.py configs do that with teacher_norm_eval=False
    # (configs/tat/README.md, "Teacher normalisation").
    teacher_trainable=False,
    teacher_norm_eval=True,
    # No auxiliary head, loss or logits upsampling in the teacher's pass,
    # which stops after the last recorded module; False runs MMRazor's
    # teacher(..., mode='loss').  Both networks in the channels-last memory
    # layout (faster on CPUs; losses equal up to float32 rounding).
    lean_teacher=True,
    teacher_channels_last=True,
    student_channels_last=True)
