# TaT: Target-aware Transformer distillation (Lin et al., CVPR 2022),
# DeepLabV3 R101-D8 -> DeepLabV3 R18-D8, Pascal VOC 2012 + aug, 512x512
# crops, 40k iterations (MMSegmentation's schedule, 4 GPUs x 4 images).
_base_ = '../_base_/deeplabv3_r101_r18_distill_voc.py'

# Hyper-parameters.  The authors' segmentation release (TaT-seg) distils the
# last decoder feature of DeepLabV3+ at output stride 16 with 513x513 crops,
# a 129x129 map, with (Pascal VOC):
#   * patch grid 16x16 -> 129 // 16 = 8x8-position patches, 256 patches;
#   * 64 heads -> 256 / 64 = 4 patches per group;
#   * anchor grid 32x32 -> 129 // 32 = 4x4 pooling window;
#   * alpha / beta / gamma = 0.1 / 1.0 / 0.4.
# Here the distilled feature is ``decode_head.bottleneck`` of MMSegmentation's
# DeepLabV3 (output stride 8): 512 channels (teacher) and 128 (student) on a
# 64x64 map for 512x512 crops.  The release's geometry is kept, written in
# feature-map positions so that it does not depend on the crop: 8x8 patches
# (64 of them here), 4 patches per group (16 heads here), a 4x4 anchor
# window (16x16 anchors here).  TaTDistiller finds the channels and checks
# the geometry on the real map when the model is built.  The query/key/value
# embeddings (1x1 conv + BN, as in the release) are trained by the
# algorithm's optimiser with the student (same learning rate, as in the
# release).
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
