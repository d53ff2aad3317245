# SegFormer MiT-B5 (teacher, a transformer) -> DeepLabV3 R18-D8 (student, a
# CNN) on Cityscapes, 512x1024 crops, MMSegmentation's 80k schedule (4 GPUs x
# 2 images, the student's recipe): the case TaT's one-to-all matching is
# meant for, teacher and student seeing the image differently.  Everything
# but the distiller: a distillation config inherits this file and sets
# ``model.distiller`` only.
_base_ = './deeplabv3_r101_r18_distill_cityscapes.py'

# The teacher: MMSegmentation's released
# segformer_mit-b5_8xb1-160k_cityscapes-1024x1024 (82.25 mIoU,
# configs/segformer/metafile.yaml of MMSegmentation 1.2.2), written out as
# MMSegmentation's segformer_mit-b5 network.  It was trained on 1024x1024
# crops; here it sees the student's 512x1024 crops (its features are
# resolution-agnostic) and is validated as MMSegmentation tests it (sliding
# 1024x1024 windows).  Its ``decode_head.fusion_conv`` (the fused decoder
# feature, 256 channels at 1/4 of the input), before its ReLU, is the
# feature TaT distils.
# Offline, point it at a local copy:
#   --cfg-options model.teacher_ckpt=/path/to/segformer_mit-b5_8x1_1024x1024_160k_cityscapes_20211206_072934-87a052ec.pth
model = dict(
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
            num_classes=19,
            norm_cfg=dict(type='SyncBN', requires_grad=True),
            align_corners=False,
            loss_decode=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
        train_cfg=dict(),
        test_cfg=dict(mode='slide', crop_size=(1024, 1024), stride=(768,
                                                                    768))),
    teacher_ckpt='https://download.openmmlab.com/mmsegmentation/v0.5/segformer/segformer_mit-b5_8x1_1024x1024_160k_cityscapes/segformer_mit-b5_8x1_1024x1024_160k_cityscapes_20211206_072934-87a052ec.pth')  # noqa: E501
