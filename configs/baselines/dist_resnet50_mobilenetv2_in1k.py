# DIST (Huang et al., "Knowledge Distillation from A Stronger Teacher",
# NeurIPS 2022), ResNet-50 -> MobileNetV2 on ImageNet-1k.  MMRazor 1.0.0 has
# no DIST config for this pair; this one is derived from two of its configs:
# the pair, data, schedule and teacher of its KD config for the pair
# (configs/distill/mmcls/kd/kd_logits_resnet50_mobilenet-v2_8xb32_in1k.py,
# inherited: MobileNetV2's own 300-epoch recipe, ResNet-50 teacher) and the
# loss of its DIST config for R34 -> R18
# (configs/distill/mmcls/dist/dist_logits_resnet34_resnet18_8xb32_in1k.py:
# DISTLoss on head.fc, inter 1, intra 1, tau 1, weight 2, SGD with Nesterov
# momentum).  Same data, schedule (but Nesterov), networks and teacher as
# configs/tat/resnet50_mobilenetv2_in1k.py.
_base_ = [
    'mmrazor::distill/mmcls/kd/kd_logits_resnet50_mobilenet-v2_8xb32_in1k.py',
    '../_base_/mmtat_runtime.py',
]

model = dict(
    distiller=dict(
        # the KD config's recorders (head.fc of both networks) are kept;
        # the loss is the DIST config's
        distill_losses=dict(
            _delete_=True,
            loss_dist=dict(
                type='DISTLoss',
                inter_loss_weight=1.0,  # beta
                intra_loss_weight=1.0,  # gamma
                tau=1,
                loss_weight=2)),
        loss_forward_mappings=dict(
            _delete_=True,
            loss_dist=dict(
                logits_S=dict(from_student=True, recorder='fc'),
                logits_T=dict(from_student=False, recorder='fc')))))

# MMRazor's DIST config trains with Nesterov momentum
optim_wrapper = dict(optimizer=dict(nesterov=True))
