# TaT: Target-aware Transformer distillation (Lin et al., CVPR 2022),
# DeepLabV3 R101-D8 -> DeepLabV3 R18-D8, COCO-Stuff10k, 512x512 crops,
# 40k iterations (MMSegmentation's schedule, 4 GPUs x 4 images).
_base_ = '../_base_/deeplabv3_r101_r18_distill_cocostuff10k.py'

# Hyper-parameters.  The authors' segmentation release (TaT-seg) distils the
# last decoder feature of DeepLabV3+ at output stride 16 with 513x513 crops,
# a 129x129 map, with (COCO-Stuff10k):
#   * patch grid 32x32 -> 129 // 32 = 4x4-pixel patches, 1024 patches;
#   * 512 heads -> 1024 / 512 = 2 patches per group;
#   * anchor grid 32x32 -> 129 // 32 = 4x4 pooling window;
#   * alpha / beta / gamma = 0.6 / 1.0 / 1.0.
# (Its Pascal VOC script uses 8x8-pixel patches and 4 patches per group
# instead, see deeplabv3_r101_r18_voc.py.)
# Here the distilled feature is ``decode_head.bottleneck`` of MMSegmentation's
# DeepLabV3 (output stride 8): 512 channels (teacher) and 128 (student) on a
# 64x64 map for 512x512 crops.  The release's geometry is kept, not its grid
# numbers:
#   * 4x4-pixel patches on a 64x64 map -> patch_grid=(16, 16) (256 patches);
#   * 2 patches per group -> 256 / 2 = num_heads=128;
#   * a 4x4 anchor window on a 64x64 map -> anchor_grid=(16, 16);
#   * alpha, beta, gamma as in the release's COCO-Stuff script:
#     loss_weight=0.6, patch_weight=1.0, anchor_weight=1.0.
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
                patch_grid=(16, 16),
                num_heads=128,
                anchor_grid=(16, 16),
                patch_weight=1.0,
                anchor_weight=1.0,
                loss_weight=0.6)),
        loss_forward_mappings=dict(
            loss_tat=dict(
                preds_S=dict(from_student=True, recorder='feat'),
                preds_T=dict(from_student=False, recorder='feat')))))
