# DIST (Huang et al., "Knowledge Distillation from A Stronger Teacher",
# NeurIPS 2022), ResNet-34 -> ResNet-18 on ImageNet-1k: MMRazor 1.0.0's
# config as it is (DISTLoss on head.fc, inter 1, intra 1, tau 1, weight 2;
# SGD with Nesterov momentum; 71.61 top-1 in its README), on MMPretrain's
# networks and recipe, with mmtat's runtime (custom_imports and hooks).
# Same data, schedule (but Nesterov), networks and teacher as
# configs/tat/resnet34_resnet18_in1k.py.
_base_ = [
    'mmrazor::distill/mmcls/dist/dist_logits_resnet34_resnet18_8xb32_in1k.py',
    '../_base_/mmtat_runtime.py',
]
