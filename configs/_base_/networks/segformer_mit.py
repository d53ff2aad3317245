# MMSegmentation's SegFormer networks with a MiT-B0 and a MiT-B5 backbone
# (mmseg::_base_/models/segformer_mit-b0.py, and the B5 changes of its
# segformer_mit-b5_* configs), each from its ImageNet-pretrained backbone.
# New names only (``segformer_mitb0``, ``segformer_mitb5``): a distillation
# base takes this file as its second base and puts them in place of
# ./deeplabv3_r101_r18_distill.py's networks, after setting the class count
# (None here), e.g.
#   _base_.segformer_mitb5.decode_head.num_classes = 150
#   model = dict(teacher=dict(_delete_=True, **_base_.segformer_mitb5))
# (mmengine refuses a key that two bases of one config define).  Written out
# rather than read from MMSegmentation's configs so that their download keys
# can be overridden offline (``model.architecture.backbone.init_cfg=None``).
segformer_mitb0 = dict(
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
    # ``fusion_conv``: the four MiT stages fused, 256 channels at 1/4 of the
    # input, the last feature before the classifier
    decode_head=dict(
        type='SegformerHead',
        in_channels=[32, 64, 160, 256],
        in_index=[0, 1, 2, 3],
        channels=256,
        dropout_ratio=0.1,
        num_classes=None,  # set by the config that uses the network
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
segformer_mitb5 = dict(
    segformer_mitb0,
    backbone=dict(
        segformer_mitb0['backbone'],
        embed_dims=64,
        num_layers=[3, 6, 40, 3],
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segformer/mit_b5_20220624-658746d9.pth')),  # noqa: E501
    decode_head=dict(
        segformer_mitb0['decode_head'], in_channels=[64, 128, 320, 512]))
