# MGD: masked generative distillation (Yang et al., "Masked Generative
# Distillation", ECCV 2022), DeepLabV3 R101-D8 -> DeepLabV3 R18-D8,
# Pascal VOC 2012 + aug, 512x512 crops, 40k iterations.  Same dataset,
# schedule, networks and teacher as configs/tat/deeplabv3_r101_r18_voc.py; only
# ``model.distiller`` differs.
_base_ = [
    '../_base_/deeplabv3_r101_r18_distill_voc.py',
    '../_base_/distillers/mgd_bottleneck.py',
]

# On the output of ``decode_head.bottleneck`` (128 vs. 512 channels, 1/8 of
# the input); alpha_mgd = 2e-5 and the mask ratio 0.75 of the paper's
# semantic segmentation settings (the sources:
# ../_base_/distillers/mgd_bottleneck.py).
model = dict(distiller={{_base_.mgd_bottleneck_distiller}})
