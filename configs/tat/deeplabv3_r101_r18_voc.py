# TaT: Target-aware Transformer distillation (Lin et al., CVPR 2022),
# DeepLabV3 R101-D8 -> DeepLabV3 R18-D8, Pascal VOC 2012 + aug, 512x512
# crops, 40k iterations (MMSegmentation's schedule, 4 GPUs x 4 images).
_base_ = '../_base_/deeplabv3_r101_r18_distill_voc.py'

# Hyper-parameters.  The authors' segmentation release (TaT-seg) distils the
# last decoder feature of DeepLabV3+ at output stride 16 with 513x513 crops,
# a 129x129 map, with (Pascal VOC):
#   * patch grid 16x16 -> 129 // 16 = 8x8-pixel patches, 256 patches;
#   * 64 heads -> 256 / 64 = 4 patches per group;
#   * anchor grid 32x32 -> 129 // 32 = 4x4 pooling window;
#   * alpha / beta / gamma = 0.1 / 1.0 / 0.4.
# Here the distilled feature is ``decode_head.bottleneck`` of MMSegmentation's
# DeepLabV3 (output stride 8): 512 channels (teacher) and 128 (student) on a
# 64x64 map for 512x512 crops.  The release's geometry is kept, not its grid
# numbers:
#   * 8x8-pixel patches on a 64x64 map -> patch_grid=(8, 8) (64 patches);
#   * 4 patches per group -> 64 / 4 = num_heads=16;
#   * a 4x4 anchor window on a 64x64 map -> anchor_grid=(16, 16);
#   * alpha, beta, gamma as in the release's VOC script: loss_weight=0.1,
#     patch_weight=1.0, anchor_weight=0.4.
# The query/key/value embeddings (1x1 conv + BN, as in the release) live in
# the loss, i.e. in ``model.distiller``; the algorithm's optimiser trains
# them with the student (same optimiser, same learning rate, as in the
# release).
model = dict(
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(
            feat=dict(type='ModuleOutputs', source='decode_head.bottleneck')),
        teacher_recorders=dict(
            feat=dict(type='ModuleOutputs', source='decode_head.bottleneck')),
        distill_losses=dict(
            loss_tat=dict(
                type='TaTLoss',
                student_channels=128,
                teacher_channels=512,
                patch_grid=(8, 8),
                num_heads=16,
                anchor_grid=(16, 16),
                patch_weight=1.0,
                anchor_weight=0.4,
                loss_weight=0.1)),
        loss_forward_mappings=dict(
            loss_tat=dict(
                preds_S=dict(from_student=True, recorder='feat'),
                preds_T=dict(from_student=False, recorder='feat')))))
