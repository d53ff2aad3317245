# DIST: distillation from a stronger teacher (Huang et al., "Knowledge
# Distillation from A Stronger Teacher", NeurIPS 2022), DeepLabV3+ R101-D8 ->
# DeepLabV3+ MobileNetV2-D8, COCO-Stuff10k, 512x512 crops, 40k iterations.
# Same dataset, schedule, networks and teacher as
# configs/tat/deeplabv3plus_r101_mobilenetv2_cocostuff10k.py; only
# ``model.distiller`` differs.
_base_ = [
    '../_base_/deeplabv3plus_r101_mobilenetv2_distill_cocostuff10k.py',
    '../_base_/distillers/dist_logits.py',
]

# On the decode heads' logits (``decode_head.conv_seg``, 171 channels at 1/4
# of the input), every pixel a sample; the settings (beta = gamma = 1, tau = 1,
# loss_weight = 1) and their sources, the DIST authors' segmentation settings:
# ../_base_/distillers/dist_logits.py.
model = dict(distiller={{_base_.dist_logits_distiller}})
