# TaT: Target-aware Transformer distillation (Lin et al., CVPR 2022),
# DeepLabV3 R101-D8 -> DeepLabV3 R18-D8, ADE20K (150 classes), 512x512
# crops, 80k iterations (MMSegmentation's schedule, 4 GPUs x 4 images).
_base_ = '../_base_/deeplabv3_r101_r18_distill_ade20k.py'

# The release ran no ADE20K.  Of its two settings, COCO-Stuff10k's is kept:
# ADE20K is, like COCO-Stuff, scene parsing with many (150 vs. 171) thing and
# stuff classes, many of them small regions in cluttered scenes, for which
# the release chose finer patches than for VOC's 21 classes of large
# objects.  In positions (see deeplabv3_r101_r18_cocostuff10k.py): on the
# 64x64 pre-ReLU bottleneck map (BatchNorm output, as the release distils
# its decoder feature) 4x4-position patches (256 of them), 2 per group (128
# heads), 4x4 anchor windows (16x16 anchors); beta / gamma = 1.0 / 1.0.
# Not tuned on ADE20K.
model = dict(
    distiller=dict(
        type='TaTDistiller',
        features=dict(
            bottleneck=dict(
                student=dict(module='decode_head.bottleneck',
                             pre_activation=True),
                teacher=dict(module='decode_head.bottleneck',
                             pre_activation=True))),
        patch_size=(4, 4),
        patches_per_group=2,
        anchor_window=(4, 4),
        # 16 * alpha (alpha = 0.6, the release's COCO-Stuff10k value): the
        # release's CE is divided by its batch (16), MMSeg's is not
        # (tat-reference.md)
        loss_weight=9.6,
        patch_weight=1.0,
        anchor_weight=1.0))
