# CWD: channel-wise distillation (Shu et al., "Channel-wise Knowledge
# Distillation for Dense Prediction", ICCV 2021), DeepLabV3+ R101-D8 ->
# DeepLabV3+ MobileNetV2-D8, Cityscapes, 512x1024 crops, 80k iterations. Same
# dataset, schedule, networks and teacher as
# configs/tat/deeplabv3plus_r101_mobilenetv2_cityscapes.py; only
# ``model.distiller`` differs.
_base_ = [
    '../_base_/deeplabv3plus_r101_mobilenetv2_distill_cityscapes.py',
    '../_base_/distillers/cwd_logits.py',
]

# On the 19 class channels of the decode heads' logits
# (``decode_head.conv_seg``, 1/4 of the input); tau = 1, loss_weight = 5 as
# in MMRazor's segmentation config for the method (the sources:
# ../_base_/distillers/cwd_logits.py).
model = dict(distiller={{_base_.cwd_logits_distiller}})
