# KD: logit distillation (Hinton et al., "Distilling the Knowledge in a Neural
# Network", 2015), DeepLabV3+ R101-D8 -> DeepLabV3+ MobileNetV2-D8,
# Cityscapes, 512x1024 crops, 80k iterations. Same dataset, schedule, networks
# and teacher as configs/tat/deeplabv3plus_r101_mobilenetv2_cityscapes.py;
# only ``model.distiller`` differs.
_base_ = [
    '../_base_/deeplabv3plus_r101_mobilenetv2_distill_cityscapes.py',
    '../_base_/distillers/kd_logits.py',
]

# On the decode heads' logits (``decode_head.conv_seg``, 19 channels at 1/4
# of the input); tau = 1 and the per-pixel weight 3 of MMRazor's KD configs:
# loss_weight = 3 * C for C = 19 classes (the sources, and why the weight
# grows with C: ../_base_/distillers/kd_logits.py).
_base_.kd_logits_distiller.distill_losses.loss_kd.loss_weight = 3 * 19
model = dict(distiller=_base_.kd_logits_distiller)
