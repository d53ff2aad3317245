# The VOC TaT configuration of deeplabv3_r101_r18_voc.py written without
# TaTDistiller: MMRazor's ConfigurableDistiller with TaTLoss, recorders and
# loss_forward_mappings spelled out, and the release's geometry as grid
# counts for the 64x64 bottleneck map of 512x512 crops (patch_grid=(8, 8):
# 8x8 patches; num_heads=16: 4 patches per group; anchor_grid=(16, 16): 4x4
# windows).  The same computation at this crop (tests compare both); the
# form for wirings TaTDistiller does not cover (connectors, deliveries,
# other losses in the same distiller).  The channel counts and grids must
# be changed by hand with the networks or the crop.  The recorders are
# mmtat's ModuleFeature with pre_activation=True (the bottleneck's map
# before its ReLU, what TaTDistiller's pre_activation records; MMRazor's
# ModuleOutputs on ``decode_head.bottleneck.bn`` would hold the post-ReLU
# values, and mmtat refuses such a record).
_base_ = [
    '../_base_/deeplabv3_r101_r18_distill_voc.py',
    '../_base_/distillers/tat.py',
]

model = dict(
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(
            feat=dict(
                type='ModuleFeature',
                source='decode_head.bottleneck',
                pre_activation=True)),
        teacher_recorders=dict(
            feat=dict(
                type='ModuleFeature',
                source='decode_head.bottleneck',
                pre_activation=True)),
        distill_losses=dict(
            loss_tat=dict(
                type='TaTLoss',
                student_channels=128,
                teacher_channels=512,
                patch_grid=(8, 8),
                num_heads=16,
                anchor_grid=(16, 16),
                # the weight, beta and gamma of the VOC setting, as
                # deeplabv3_r101_r18_voc.py (../_base_/distillers/tat.py)
                loss_weight=_base_.tat_voc.loss_weight,
                patch_weight=_base_.tat_voc.patch_weight,
                anchor_weight=_base_.tat_voc.anchor_weight)),
        loss_forward_mappings=dict(
            loss_tat=dict(
                preds_S=dict(from_student=True, recorder='feat'),
                preds_T=dict(from_student=False, recorder='feat')))))
