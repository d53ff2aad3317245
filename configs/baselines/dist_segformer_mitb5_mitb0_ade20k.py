# DIST: distillation from a stronger teacher (Huang et al., "Knowledge
# Distillation from A Stronger Teacher", NeurIPS 2022), SegFormer MiT-B5 ->
# SegFormer MiT-B0, ADE20K (150 classes), 512x512 crops, 160k iterations.  Same
# dataset, schedule, networks and teacher as
# configs/tat/segformer_mitb5_mitb0_ade20k.py; only ``model.distiller``
# differs.
_base_ = '../_base_/segformer_mitb5_mitb0_distill_ade20k.py'

# Settings as in dist_deeplabv3_r101_r18_voc.py (the sources are there):
# MMRazor's ``DISTLoss`` on the decode heads' logits (``decode_head.conv_seg``,
# 150 channels at 1/4 of the input) with every pixel a sample (mmtat's
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
