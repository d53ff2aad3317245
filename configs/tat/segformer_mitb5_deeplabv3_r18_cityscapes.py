# TaT across architectures: SegFormer MiT-B5 (transformer teacher) ->
# DeepLabV3 R18-D8 (CNN student), Cityscapes, 512x1024 crops, 80k iterations
# (the student's MMSegmentation schedule, 4 GPUs x 2 images).
_base_ = '../_base_/segformer_mitb5_deeplabv3_r18_distill_cityscapes.py'

# The teacher's fused decoder feature (``decode_head.fusion_conv``: 256
# channels at 1/4 of the input, 128x256 for a 512x1024 crop; the feature the
# release distils in its DeepLabV3+ teacher) against the student's
# ``decode_head.bottleneck`` (128 channels at 1/8), which TaTDistiller
# resizes to the teacher's map.  The release's VOC geometry as for the
# Cityscapes CNN pair (deeplabv3_r101_r18_cityscapes.py): 8x8-position
# patches, 4 per group (16x32 = 512 patches here), 4x4 anchor windows (32x64
# = 2048 anchors, where TaTLoss switches to its memory-bounded attention),
# alpha / beta / gamma = 0.1 / 1.0 / 0.4.
model = dict(
    distiller=dict(
        type='TaTDistiller',
        features=dict(
            decoder=dict(
                # before the last ReLU, as the release distils it
                student=dict(module='decode_head.bottleneck', pre_activation=True),
                teacher=dict(module='decode_head.fusion_conv', pre_activation=True))),
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
