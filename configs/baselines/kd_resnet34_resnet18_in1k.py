# KD: logit distillation (Hinton et al., "Distilling the Knowledge in a
# Neural Network", 2015), ResNet-34 -> ResNet-18 on ImageNet-1k: MMRazor
# 1.0.0's config as it is (KLDivergence on head.fc, tau 1, weight 3; 71.81
# top-1 in its metafile), on MMPretrain's networks and recipe (mmtat reads
# its mmcls:: paths as mmpretrain::), with mmtat's runtime (custom_imports
# and hooks).  Same data, schedule, networks and teacher as
# configs/tat/resnet34_resnet18_in1k.py.
_base_ = [
    'mmrazor::distill/mmcls/kd/kd_logits_resnet34_resnet18_8xb32_in1k.py',
    '../_base_/mmtat_runtime.py',
]
