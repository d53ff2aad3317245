# DIST: distillation from a stronger teacher (Huang et al., "Knowledge
# Distillation from A Stronger Teacher", NeurIPS 2022), DeepLabV3 R101-D8 ->
# DeepLabV3 R18-D8, Pascal VOC 2012 + aug, 512x512 crops, 40k iterations.  Same
# dataset, schedule, networks and teacher as
# configs/tat/deeplabv3_r101_r18_voc.py; only ``model.distiller`` differs.
_base_ = '../_base_/deeplabv3_r101_r18_distill_voc.py'

# Settings.  The class probabilities of every output pixel of the decode heads'
# classifiers (``decode_head.conv_seg``, 21 channels at 1/8 of the input) are
# matched by their Pearson correlation, across the classes of each pixel
# (inter-class) and across all pixels of the batch for each class
# (intra-class): MMRazor's ``DISTLoss`` with the pixels as its samples (mmtat's
# ``PixelsToSamples`` on both sides; on the map itself DISTLoss would correlate
# over the wrong axes).  The DIST authors' segmentation settings
# (hunto/DIST_KD, segmentation/): beta = gamma = 1 (losses/dist_kd.py,
# ``DIST(beta=1., gamma=1.)``, which flattens the pixels the same way), no
# temperature, and weight lambda_kd = 1 on the decode head's logits only
# (train_kd.py's default, which train_scripts/train_kd/deeplabv3_res18.sh
# keeps; it trains no auxiliary head), next to a cross-entropy averaged over
# pixels as MMSegmentation's is; hence tau=1, loss_weight=1.  (MMRazor's only
# DIST config,
# configs/distill/mmcls/dist/dist_logits_resnet34_resnet18_8xb32_in1k.py, uses
# loss_weight=2 for ImageNet classification.)
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
