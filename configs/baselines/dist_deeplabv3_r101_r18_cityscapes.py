# DIST: distillation from a stronger teacher (Huang et al., "Knowledge
# Distillation from A Stronger Teacher", NeurIPS 2022), DeepLabV3 R101-D8 ->
# DeepLabV3 R18-D8, Cityscapes, 512x1024 crops, 80k iterations.  Same dataset,
# schedule, networks and teacher as
# configs/tat/deeplabv3_r101_r18_cityscapes.py; only ``model.distiller``
# differs.
_base_ = '../_base_/deeplabv3_r101_r18_distill_cityscapes.py'

# Settings as in dist_deeplabv3_r101_r18_voc.py (the sources are there):
# MMRazor's ``DISTLoss`` on the decode heads' logits (``decode_head.conv_seg``,
# 19 channels at 1/8 of the input) with every pixel a sample (mmtat's
# ``PixelsToSamples``); beta = gamma = 1, tau = 1, loss_weight = 1, the DIST
# authors' segmentation settings (hunto/DIST_KD, segmentation/).
model = dict(
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(
            logits=dict(type='ModuleOutputs', source='decode_head.conv_seg')),
        teacher_recorders=dict(
            logits=dict(type='ModuleOutputs', source='decode_head.conv_seg')),
        connectors=dict(
            loss_dist_slogits=dict(type='PixelsToSamples'),
            loss_dist_tlogits=dict(type='PixelsToSamples')),
        distill_losses=dict(
            loss_dist=dict(
                type='DISTLoss',
                inter_loss_weight=1.0,
                intra_loss_weight=1.0,
                tau=1.0,
                loss_weight=1.0)),
        loss_forward_mappings=dict(
            loss_dist=dict(
                logits_S=dict(
                    from_student=True,
                    recorder='logits',
                    connector='loss_dist_slogits'),
                logits_T=dict(
                    from_student=False,
                    recorder='logits',
                    connector='loss_dist_tlogits')))))
