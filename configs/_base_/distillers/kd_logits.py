# KD: logit distillation (Hinton et al., "Distilling the Knowledge in a Neural
# Network", 2015) on the decode heads' logits, the distiller of every
# configs/baselines/kd_*.py.  A new name only (``kd_logits_distiller``): a
# config takes this file as its second base, next to its network x dataset
# base, sets the weight for its class count and assigns the distiller:
#   _base_.kd_logits_distiller.distill_losses.loss_kd.loss_weight = 3 * C
#   model = dict(distiller=_base_.kd_logits_distiller)
# (mmengine refuses a key that two bases of one config define).
_base_ = './logits.py'  # the recorders of both networks' logits

# The softened class distributions of every output pixel of the decode heads'
# classifiers (``decode_head.conv_seg``) are matched with MMRazor's
# ``KLDivergence``, which multiplies the KL by tau**2 as Hinton et al. do.
# Temperature and weight are those of MMRazor's KD configs
# (configs/distill/mmcls/kd/kd_logits_resnet34_resnet18_8xb32_in1k.py: tau=1,
# loss_weight=3 on a per-sample KL, i.e. summed over classes, averaged over
# samples).  In segmentation a sample is a pixel: ``reduction='mean'``
# averages over N*C*H*W elements, so the per-pixel KL weighted by 3 is
# loss_weight = 3 * C for C classes, which each config sets (None here: a
# config that forgets it fails at its first loss).  (MMRazor's default,
# ``'batchmean'``, would sum over the H*W pixels and make the weight grow with
# the crop.)
kd_logits_distiller = dict(
    _base_.logit_distiller,
    distill_losses=dict(
        loss_kd=dict(
            type='KLDivergence',
            tau=1,
            reduction='mean',
            loss_weight=None)),  # 3 x the class count, set by the config
    loss_forward_mappings=dict(
        loss_kd=dict(
            preds_S=dict(from_student=True, recorder='logits'),
            preds_T=dict(from_student=False, recorder='logits'))))
