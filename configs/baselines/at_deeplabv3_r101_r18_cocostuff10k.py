# AT: attention transfer (Zagoruyko & Komodakis, "Paying More Attention to
# Attention", ICLR 2017), DeepLabV3 R101-D8 -> DeepLabV3 R18-D8, COCO-Stuff10k,
# 512x512 crops, 40k iterations.  Same dataset, schedule, networks and
# teacher as configs/tat/deeplabv3_r101_r18_cocostuff10k.py; only
# ``model.distiller`` differs.
_base_ = [
    '../_base_/deeplabv3_r101_r18_distill_cocostuff10k.py',
    '../_base_/distillers/at_bottleneck.py',
]

# On the attention maps of the output of ``decode_head.bottleneck`` (128 vs.
# 512 channels, 1/8 of the input); MMRazor's ATLoss with weight 1000, the
# paper's and its authors' code's beta (the sources:
# ../_base_/distillers/at_bottleneck.py).
model = dict(distiller={{_base_.at_bottleneck_distiller}})
