# TaT with the authors' release's whole training recipe for its MobileNetV2
# student (Lin et al., CVPR 2022; sihaoevery/TaT-seg, train_voc_mobilenet.sh):
# DeepLabV3+ R101-D8 -> MobileNetV2-D8 on Pascal VOC 2012 + aug, as far as
# MMSegmentation expresses it (docs/en/hyperparameters.md, "The release's
# recipe" and "The MobileNetV2 student").  513x513 crops, 100 epochs of 12
# images (88,100 iterations; 4 GPUs x 3), lr 0.004.  Scored as
# MMSegmentation scores (full resolution); the release's 513x513 scoring is
# deeplabv3plus_r101_mobilenetv2_voc_release_val513.py.
_base_ = [
    './deeplabv3plus_r101_mobilenetv2_voc.py',
    '../_base_/recipes/tat_release_voc_mobilenetv2.py',
]

train_dataloader = {{_base_.release_train_dataloader}}
optim_wrapper = {{_base_.release_optim_wrapper}}
param_scheduler = {{_base_.release_param_scheduler}}
train_cfg = {{_base_.release_train_cfg}}
default_hooks = {{_base_.release_default_hooks}}

# The release's network (CE / 12, no auxiliary head), crops and teacher in
# train mode, and its alpha (0.1) against CE / 12 (the recipe base).  On the
# 129x129 map of a 513x513 crop the geometry is the release's counts: patch
# grid 32, 1024 heads, anchor grid 64.
model = {{_base_.release_distillation}}
