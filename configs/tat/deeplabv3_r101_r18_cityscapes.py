# TaT: Target-aware Transformer distillation (Lin et al., CVPR 2022),
# DeepLabV3 R101-D8 -> DeepLabV3 R18-D8, Cityscapes, 512x1024 crops, 80k
# iterations (MMSegmentation's schedule, 4 GPUs x 2 images).
_base_ = '../_base_/deeplabv3_r101_r18_distill_cityscapes.py'

# Geometry by the release's rule.  The release gives two settings, each on
# its 129x129 decoder map: VOC (21 classes) 8x8-position patches, 4 per
# group, 4x4 anchor windows, alpha / beta / gamma = 0.1 / 1.0 / 0.4; and
# COCO-Stuff10k (171 classes) 4x4 patches, 2 per group, the same anchors,
# 0.6 / 1.0 / 1.0.  Cityscapes has 19 classes of mostly large regions, like
# VOC, so its setting is kept, in positions: on the 64x128 bottleneck map of
# a 512x1024 crop that is 8x16 = 128 patches in 32 groups and 16x32 = 512
# anchors.  (Not tuned on Cityscapes; the release did not run it.)
model = dict(
    distiller=dict(
        type='TaTDistiller',
        features=dict(
            bottleneck=dict(
                # before the last ReLU, as the release distils it
                student=dict(module='decode_head.bottleneck', pre_activation=True),
                teacher=dict(module='decode_head.bottleneck', pre_activation=True))),
        patch_size=(8, 8),
        patches_per_group=4,
        anchor_window=(4, 4),
        # alpha = 0.1 (the release's VOC setting), times 16: the release adds
        # alpha * L_tat to its cross-entropy divided by its batch of 16;
        # MMSegmentation's is not divided (configs/tat/README.md, "Loss
        # scale").
        loss_weight=1.6,
        patch_weight=1.0,
        anchor_weight=0.4))
