# KD: logit distillation (Hinton et al., "Distilling the Knowledge in a
# Neural Network", 2015), DeepLabV3 R101-D8 -> DeepLabV3 R18-D8,
# ADE20K, 512x512 crops, 80k iterations.  Same dataset, schedule,
# networks and teacher as configs/tat/deeplabv3_r101_r18_ade20k.py;
# only ``model.distiller`` differs.
_base_ = '../_base_/deeplabv3_r101_r18_distill_ade20k.py'

# Settings.  The softened class distributions of every output pixel of the
# decode heads' classifiers (``decode_head.conv_seg``, 150 channels at 1/8 of
# the input) are matched with MMRazor's ``KLDivergence``, which multiplies
# the KL by tau**2 as Hinton et al. do.  Temperature and weight are those of
# MMRazor's KD configs (configs/distill/mmcls/kd/kd_logits_resnet34_resnet18_
# 8xb32_in1k.py: tau=1, loss_weight=3 on a per-sample KL, i.e. summed over
# classes, averaged over samples).  In segmentation a sample is a pixel:
# ``reduction='mean'`` averages over N*C*H*W elements, so the per-pixel KL
# weighted by 3 is loss_weight = 3 * C = 3 * 150 = 450.  (MMRazor's default,
# ``'batchmean'``, would sum over the H*W pixels and make the weight grow
# with the crop.)
model = dict(
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(
            logits=dict(type='ModuleOutputs', source='decode_head.conv_seg')),
        teacher_recorders=dict(
            logits=dict(type='ModuleOutputs', source='decode_head.conv_seg')),
        distill_losses=dict(
            loss_kd=dict(
                type='KLDivergence',
                tau=1,
                reduction='mean',
                loss_weight=450)),  # 3 x 150 classes
        loss_forward_mappings=dict(
            loss_kd=dict(
                preds_S=dict(from_student=True, recorder='logits'),
                preds_T=dict(from_student=False, recorder='logits')))))
