# TaT: Target-aware Transformer distillation (Lin et al., CVPR 2022),
# DeepLabV3 R101-D8 -> DeepLabV3 R18-D8, COCO-Stuff10k, 512x512 crops,
# 40k iterations (MMSegmentation's schedule, 4 GPUs x 4 images).
_base_ = '../_base_/deeplabv3_r101_r18_distill_cocostuff10k.py'

# Hyper-parameters.  The authors' segmentation release (TaT-seg) distils the
# last decoder feature of DeepLabV3+ at output stride 16 with 513x513 crops,
# a 129x129 map, with (COCO-Stuff10k):
#   * patch grid 32x32 -> 129 // 32 = 4x4-position patches, 1024 patches;
#   * 512 heads -> 1024 / 512 = 2 patches per group;
#   * anchor grid 32x32 -> 129 // 32 = 4x4 pooling window;
#   * alpha / beta / gamma = 0.6 / 1.0 / 1.0.
# (Its Pascal VOC script uses 8x8 patches and 4 patches per group instead,
# see deeplabv3_r101_r18_voc.py.)
# Here the distilled feature is ``decode_head.bottleneck`` of MMSegmentation's
# DeepLabV3 (output stride 8): 512 channels (teacher) and 128 (student) on a
# 64x64 map for 512x512 crops.  The release's geometry is kept, in
# feature-map positions: 4x4 patches (256 of them here), 2 patches per group
# (128 heads here), a 4x4 anchor window (16x16 anchors here); alpha, beta,
# gamma as in the release's COCO-Stuff script.
model = dict(
    distiller=dict(
        type='TaTDistiller',
        features=dict(
            bottleneck=dict(
                # before the last ReLU, as the release distils it
                student=dict(module='decode_head.bottleneck', pre_activation=True),
                teacher=dict(module='decode_head.bottleneck', pre_activation=True))),
        patch_size=(4, 4),
        patches_per_group=2,
        anchor_window=(4, 4),
        # alpha = 0.6 (the release's COCO-Stuff10k setting), times 16: the
        # release adds alpha * L_tat to its cross-entropy divided by its
        # batch of 16; MMSegmentation's is not divided (configs/tat/README.md,
        # "Loss scale").
        loss_weight=9.6,
        patch_weight=1.0,
        anchor_weight=1.0))
