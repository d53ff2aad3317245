# SegFormer MiT-B5 (teacher) -> SegFormer MiT-B0 (student), a transformer
# pair, on ADE20K (150 classes, reduce_zero_label), 512x512 crops,
# MMSegmentation's SegFormer recipe for ADE20K (160k iterations, AdamW, 8
# GPUs x 2 images).  Everything but the distiller: a distillation config
# inherits this file and sets ``model.distiller`` only.
#
# The algorithm (type, data pre-processor, frozen teacher) is the one of every
# mmtat distillation (./deeplabv3_r101_r18_distill.py); the two networks are
# replaced by MMSegmentation's segformer_mit-b0 / mit-b5 ADE20K networks,
# written out so that their download keys can be overridden offline:
#   --cfg-options model.teacher_ckpt=None \
#       model.teacher.backbone.init_cfg=None \
#       model.architecture.backbone.init_cfg=None
_base_ = [
    'mmseg::_base_/datasets/ade20k.py',
    'mmseg::_base_/schedules/schedule_160k.py',
    'mmseg::_base_/default_runtime.py',
    './deeplabv3_r101_r18_distill.py',
]

crop_size = (512, 512)
num_classes = 150

# ``decode_head.fusion_conv`` (the four MiT stages fused, 256 channels at 1/4
# of the input: 128x128 for 512x512 crops) is the distilled feature of both;
# see configs/tat/segformer_mitb5_mitb0_ade20k.py.
model = dict(
    data_preprocessor=dict(size=crop_size),
    # Student: MMSegmentation's segformer_mit-b0_8xb2-160k_ade20k-512x512
    # network (37.41 mIoU trained alone, configs/segformer/metafile.yaml of
    # MMSegmentation 1.2.2), from its ImageNet-pretrained MiT-B0.
    architecture=dict(
        _delete_=True,
        _scope_='mmseg',
        type='EncoderDecoder',
        pretrained=None,
        backbone=dict(
            type='MixVisionTransformer',
            in_channels=3,
            embed_dims=32,
            num_stages=4,
            num_layers=[2, 2, 2, 2],
            num_heads=[1, 2, 5, 8],
            patch_sizes=[7, 3, 3, 3],
            sr_ratios=[8, 4, 2, 1],
            out_indices=(0, 1, 2, 3),
            mlp_ratio=4,
            qkv_bias=True,
            drop_rate=0.0,
            attn_drop_rate=0.0,
            drop_path_rate=0.1,
            init_cfg=dict(
                type='Pretrained',
                checkpoint='https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segformer/mit_b0_20220624-7e0fe6dd.pth')),  # noqa: E501
        decode_head=dict(
            type='SegformerHead',
            in_channels=[32, 64, 160, 256],
            in_index=[0, 1, 2, 3],
            channels=256,
            dropout_ratio=0.1,
            num_classes=num_classes,
            norm_cfg=dict(type='SyncBN', requires_grad=True),
            align_corners=False,
            loss_decode=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
        train_cfg=dict(),
        test_cfg=dict(mode='whole')),
    # Teacher: MMSegmentation's released
    # segformer_mit-b5_8xb2-160k_ade20k-512x512 (49.13 mIoU, same metafile);
    # its weights come from ``teacher_ckpt``.  Offline, point it at a local
    # copy:
    #   --cfg-options model.teacher_ckpt=/path/to/segformer_mit-b5_512x512_160k_ade20k_20210726_145235-94cedf59.pth
    teacher=dict(
        _delete_=True,
        _scope_='mmseg',
        type='EncoderDecoder',
        pretrained=None,
        backbone=dict(
            type='MixVisionTransformer',
            in_channels=3,
            embed_dims=64,
            num_stages=4,
            num_layers=[3, 6, 40, 3],
            num_heads=[1, 2, 5, 8],
            patch_sizes=[7, 3, 3, 3],
            sr_ratios=[8, 4, 2, 1],
            out_indices=(0, 1, 2, 3),
            mlp_ratio=4,
            qkv_bias=True,
            drop_rate=0.0,
            attn_drop_rate=0.0,
            drop_path_rate=0.1,
            init_cfg=dict(
                type='Pretrained',
                checkpoint='https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segformer/mit_b5_20220624-658746d9.pth')),  # noqa: E501
        decode_head=dict(
            type='SegformerHead',
            in_channels=[64, 128, 320, 512],
            in_index=[0, 1, 2, 3],
            channels=256,
            dropout_ratio=0.1,
            num_classes=num_classes,
            norm_cfg=dict(type='SyncBN', requires_grad=True),
            align_corners=False,
            loss_decode=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
        train_cfg=dict(),
        test_cfg=dict(mode='whole')),
    teacher_ckpt='https://download.openmmlab.com/mmsegmentation/v0.5/segformer/segformer_mit-b5_512x512_160k_ade20k/segformer_mit-b5_512x512_160k_ade20k_20210726_145235-94cedf59.pth')  # noqa: E501

# MMSegmentation's SegFormer schedule (segformer_mit-b0_8xb2-160k_ade20k-
# 512x512.py): AdamW, the decode head at 10x the learning rate, no weight
# decay on norms and positional blocks, linear warm-up then poly decay; 8
# GPUs x 2 images.  The parameter names are the algorithm's
# (``architecture.decode_head...``), which the custom keys match as well.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=0.00006, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(
        custom_keys={
            'pos_block': dict(decay_mult=0.),
            'norm': dict(decay_mult=0.),
            'head': dict(lr_mult=10.)
        }))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(
        type='PolyLR',
        eta_min=0.0,
        power=1.0,
        begin=1500,
        end=160000,
        by_epoch=False,
    )
]
train_dataloader = dict(batch_size=2, num_workers=2)
val_dataloader = dict(batch_size=1, num_workers=4)
test_dataloader = val_dataloader

# Validate the student and the teacher on the same data; the teacher's
# metrics are logged with a ``teacher.`` prefix (``teacher.mIoU``).
val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
