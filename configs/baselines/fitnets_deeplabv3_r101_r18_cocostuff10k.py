# FitNets: hint-based feature distillation (Romero et al., "FitNets: Hints
# for Thin Deep Nets", ICLR 2015), DeepLabV3 R101-D8 -> DeepLabV3 R18-D8,
# COCO-Stuff10k, 512x512 crops, 40k iterations.  Same dataset, schedule,
# networks and teacher as configs/tat/deeplabv3_r101_r18_cocostuff10k.py; only
# ``model.distiller`` differs.
_base_ = [
    '../_base_/deeplabv3_r101_r18_distill_cocostuff10k.py',
    '../_base_/distillers/fitnets_bottleneck.py',
]

# On the output of ``decode_head.bottleneck`` (128 vs. 512 channels, 1/8 of
# the input), through a trainable 1x1 ConvModule regressor; MMRazor's L2Loss
# with weight 10 as in MMRazor's FitNets config (the sources:
# ../_base_/distillers/fitnets_bottleneck.py).
model = dict(distiller={{_base_.fitnets_bottleneck_distiller}})
