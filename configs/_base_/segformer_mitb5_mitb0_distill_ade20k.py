# SegFormer MiT-B5 (teacher) -> SegFormer MiT-B0 (student), a transformer
# pair, on ADE20K (150 classes, reduce_zero_label), 512x512 crops,
# MMSegmentation's SegFormer recipe for ADE20K (160k iterations, AdamW, 8
# GPUs x 2 images).  Everything but the distiller: a distillation config
# inherits this file and sets ``model.distiller`` only.
#
# The dataset, runtime, algorithm (type, data pre-processor, frozen teacher)
# and validation loop are those of ./deeplabv3_r101_r18_distill_ade20k.py;
# the two networks are replaced by MMSegmentation's segformer_mit-b0 / mit-b5
# ADE20K networks (./networks/segformer_mit.py), whose download keys can be
# overridden offline:
#   --cfg-options model.teacher_ckpt=None \
#       model.teacher.backbone.init_cfg=None \
#       model.architecture.backbone.init_cfg=None
_base_ = [
    './deeplabv3_r101_r18_distill_ade20k.py',
    './networks/segformer_mit.py',
]

# ``decode_head.fusion_conv`` (the four MiT stages fused, 256 channels at 1/4
# of the input: 128x128 for 512x512 crops) is the distilled feature of both;
# see configs/tat/segformer_mitb5_mitb0_ade20k.py.
#
# Student: MMSegmentation's segformer_mit-b0_8xb2-160k_ade20k-512x512 network
# (37.41 mIoU trained alone, configs/segformer/metafile.yaml of
# MMSegmentation 1.2.2), from its ImageNet-pretrained MiT-B0.  Teacher:
# MMSegmentation's released segformer_mit-b5_8xb2-160k_ade20k-512x512 (49.13
# mIoU, same metafile); its weights come from ``teacher_ckpt``.  Offline,
# point it at a local copy:
#   --cfg-options model.teacher_ckpt=/path/to/segformer_mit-b5_512x512_160k_ade20k_20210726_145235-94cedf59.pth
_base_.segformer_mitb0.decode_head.num_classes = _base_.num_classes
_base_.segformer_mitb5.decode_head.num_classes = _base_.num_classes
model = dict(
    architecture=dict(_delete_=True, **_base_.segformer_mitb0),
    teacher=dict(_delete_=True, **_base_.segformer_mitb5),
    teacher_ckpt='https://download.openmmlab.com/mmsegmentation/v0.5/segformer/segformer_mit-b5_512x512_160k_ade20k/segformer_mit-b5_512x512_160k_ade20k_20210726_145235-94cedf59.pth')  # noqa: E501

# MMSegmentation's SegFormer schedule (segformer_mit-b0_8xb2-160k_ade20k-
# 512x512.py): 160k iterations (schedule_160k.py's lengths), AdamW, the
# decode head at 10x the learning rate, no weight decay on norms and
# positional blocks, linear warm-up then poly decay; 8 GPUs x 2 images.  The
# parameter names are the algorithm's (``architecture.decode_head...``),
# which the custom keys match as well.
train_cfg = dict(max_iters=160000, val_interval=16000)
default_hooks = dict(checkpoint=dict(interval=16000))
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
        type='PolyLR', eta_min=0.0, power=1.0, begin=1500, end=160000,
        by_epoch=False)
]
train_dataloader = dict(batch_size=2, num_workers=2)
val_dataloader = dict(batch_size=1, num_workers=4)
test_dataloader = val_dataloader
