# KD: logit distillation (Hinton et al., "Distilling the Knowledge in a Neural
# Network", 2015), DeepLabV3+ R101-D8 -> DeepLabV3+ MobileNetV2-D8, COCO-
# Stuff10k, 512x512 crops, 40k iterations. Same dataset, schedule, networks
# and teacher as configs/tat/deeplabv3plus_r101_mobilenetv2_cocostuff10k.py;
# only ``model.distiller`` differs.
_base_ = [
    '../_base_/deeplabv3plus_r101_mobilenetv2_distill_cocostuff10k.py',
    '../_base_/distillers/kd_logits.py',
]

# On the decode heads' logits (``decode_head.conv_seg``, 171 channels at 1/4
# of the input); tau = 1 and the per-pixel weight 3 of MMRazor's KD configs:
# loss_weight = 3 * C for C = 171 classes (the sources, and why the weight
# grows with C: ../_base_/distillers/kd_logits.py).
_base_.kd_logits_distiller.distill_losses.loss_kd.loss_weight = 3 * 171
model = dict(distiller=_base_.kd_logits_distiller)
