# TaT: Target-aware Transformer distillation (Lin et al., CVPR 2022),
# DeepLabV3 R101-D8 -> DeepLabV3 R18-D8, Cityscapes, 512x1024 crops, 80k
# iterations (MMSegmentation's schedule, 4 GPUs x 2 images).
_base_ = [
    '../_base_/deeplabv3_r101_r18_distill_cityscapes.py',
    '../_base_/distillers/tat.py',
]

# Geometry by the release's rule.  The release gives two settings
# (../_base_/distillers/tat.py): VOC (21 classes) and COCO-Stuff10k (171
# classes).  Cityscapes has 19 classes of mostly large regions, like VOC, so
# its setting is kept, in positions: on the 64x128 bottleneck map of a
# 512x1024 crop that is 8x16 = 128 patches in 32 groups and 16x32 = 512
# anchors.  (Not tuned on Cityscapes; the release did not run it.)
model = dict(distiller=dict(
    _base_.tat_bottleneck_voc, input_size=_base_.crop_size))
