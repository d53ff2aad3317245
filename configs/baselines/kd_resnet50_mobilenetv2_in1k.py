# KD: logit distillation (Hinton et al., "Distilling the Knowledge in a
# Neural Network", 2015), ResNet-50 -> MobileNetV2 on ImageNet-1k: MMRazor
# 1.0.0's config as it is (KLDivergence on head.fc, tau 1, weight 3;
# MobileNetV2's own 300-epoch recipe; 73.56 top-1 in its metafile), on
# MMPretrain's networks and recipe, with mmtat's runtime (custom_imports and
# hooks).  Same data, schedule, networks and teacher as
# configs/tat/resnet50_mobilenetv2_in1k.py.
_base_ = [
    'mmrazor::distill/mmcls/kd/kd_logits_resnet50_mobilenet-v2_8xb32_in1k.py',
    '../_base_/mmtat_runtime.py',
]
