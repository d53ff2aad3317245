# Ablation of TaT's hierarchy (the paper's ablation of its two stages, on
# mmtat's DeepLabV3 R101-D8 -> R18-D8 VOC pair): anchor-point distillation
# alone.  Everything else, the anchor windows and alpha / gamma included, is
# deeplabv3_r101_r18_voc.py's; the patch-group stage is switched off
# (beta = patch_weight = 0, so TaTLoss skips that branch).  Compare with
# deeplabv3_r101_r18_voc_patch_only.py and the full method
# (deeplabv3_r101_r18_voc.py) in the ``voc_ablation`` table.
_base_ = './deeplabv3_r101_r18_voc.py'

model = dict(distiller=dict(patch_weight=0.0))
