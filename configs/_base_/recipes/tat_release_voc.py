# The training recipe of the authors' TaT segmentation release on Pascal VOC
# 2012 + aug (sihaoevery/TaT-seg at 9e34e0e: train_voc_resnet18.sh,
# train_with_distillation_tat.py, dataloaders/), as far as MMSegmentation
# can express it; docs/en/hyperparameters.md ("The release's recipe") lists
# every setting and what cannot be matched.
#
# Only new names (release_*): a config takes this file as its second base
# and assigns them (train_dataloader = {{_base_.release_train_dataloader}},
# ...; the model's changes merge into the inherited model,
# model = {{_base_.release_distillation}}), because mmengine refuses a key
# that two bases of one config define.
# Used by configs/tat/deeplabv3plus_r101_r18_voc_release.py and the
# student-only configs/baselines/deeplabv3plus_r18_voc_release.py.

release_crop_size = (513, 513)
# VOC train + SBD without VOC val: 10,582 images; batches of 16 with the
# last partial one dropped (drop_last=True): 661 iterations an epoch, 100
# epochs.  16 images an iteration: 4 GPUs x 4 here (the release: 1 x 16).
release_max_iters = 100 * (10582 // 16)
release_val_interval = 10 * (10582 // 16)

release_load_image = dict(type='LoadImageFromFile')
release_load_annotations = dict(type='LoadAnnotations')
# RandomScaleCrop: the short side becomes a random integer in
# [int(0.5 * 513), int(2.0 * 513)] ...
release_resize = dict(
    type='RandomChoiceResize',
    scales=list(range(256, 1027)),
    resize_type='ResizeShortestEdge',
    max_size=4096)
# ... a 513x513 window is cut at a random place (no class-ratio check) ...
release_crop = dict(
    type='RandomCrop', crop_size=release_crop_size, cat_max_ratio=1.0)
# ... after padding the bottom / right to 513 with image 0 (before the
# normalisation) and label 0, i.e. background on VOC (fill=0).
release_pad = dict(
    type='Pad', size=release_crop_size, pad_val=dict(img=0, seg=0))
release_flip = dict(type='RandomFlip', prob=0.5)
# RandomGaussianBlur: p = 0.5, PIL radius (= deviation) uniform in [0, 1)
release_blur = dict(type='RandomGaussianBlur', prob=0.5, sigma_range=(0, 1))
release_pack = dict(type='PackSegInputs')
release_train_pipeline = [
    release_load_image, release_load_annotations, release_resize,
    release_crop, release_pad, release_flip, release_blur, release_pack
]
# How the release scores (FixedResize): image and label resized to 513x513.
# Not MMSegmentation's protocol (full resolution); used only by the
# *_release_val513.py configs.
release_val513_pipeline = [
    release_load_image, release_load_annotations,
    dict(type='ResizeForScoring', size=release_crop_size), release_pack
]

release_voc_root = 'data/VOCdevkit/VOC2012'
release_train_dataloader = dict(
    batch_size=4,
    dataset=dict(
        type='ConcatDataset',
        datasets=[
            dict(
                type='PascalVOCDataset',
                data_root=release_voc_root,
                data_prefix=dict(
                    img_path='JPEGImages', seg_map_path='SegmentationClass'),
                ann_file='ImageSets/Segmentation/train.txt',
                pipeline=release_train_pipeline),
            dict(
                type='PascalVOCDataset',
                data_root=release_voc_root,
                data_prefix=dict(
                    img_path='JPEGImages',
                    seg_map_path='SegmentationClassAug'),
                ann_file='ImageSets/Segmentation/aug.txt',
                pipeline=release_train_pipeline)
        ]))

# SGD with Nesterov momentum 0.9, weight decay 5e-4 on every parameter;
# the decode head (ASPP, decoder and classifier) at 10x the base lr, the
# backbone and TaT's embeddings at 1x (get_10x_lr_params / get_embed_params)
release_optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='SGD', lr=0.007, momentum=0.9, weight_decay=5e-4,
        nesterov=True),
    clip_grad=None,
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.0)}))
# lr = base * (1 + cos(pi * T / N)) / 2 per iteration to 0, no warm-up
release_param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=release_max_iters,
        eta_min=0.0,
        by_epoch=False,
        begin=0,
        end=release_max_iters)
]
release_train_cfg = dict(
    type='IterBasedTrainLoop',
    max_iters=release_max_iters,
    val_interval=release_val_interval)
# a checkpoint at every validation
release_default_hooks = dict(checkpoint=dict(interval=release_val_interval))

# The release's network (DeepLabV3+ R18, student-only or distilled): its
# cross-entropy, a mean over the valid pixels, divided by its batch of 16
# whatever the GPUs (batch_average=True), and no auxiliary head.
release_network = dict(
    decode_head=dict(
        loss_decode=dict(loss_weight=1 / 16, avg_non_ignore=True)),
    auxiliary_head=None)
# The release's distillation: that student, the 513x513 crops (also those of
# TaTDistiller's shape pass), the teacher run in train mode (t_net.train()):
# its BN layers use batch statistics and update their running ones; and
# alpha as in the paper's VOC setting, against CE / 16 (the release's own
# loss scale and lr; TaT-to-CE 16 * alpha).
release_distillation = dict(
    data_preprocessor=dict(size=release_crop_size),
    architecture=release_network,
    teacher_norm_eval=False,
    distiller=dict(input_size=release_crop_size, loss_weight=0.1))
