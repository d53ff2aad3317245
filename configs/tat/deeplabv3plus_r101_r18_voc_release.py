# TaT with the authors' release's whole training recipe (Lin et al., CVPR
# 2022; sihaoevery/TaT-seg): DeepLabV3+ R101-D8 -> R18-D8 on Pascal VOC 2012
# + aug, as far as MMSegmentation expresses it (docs/en/hyperparameters.md,
# "The release's recipe", lists every setting and what cannot be matched).
# 513x513 crops, 100 epochs of 16 images (66,100 iterations; 4 GPUs x 4).
# Scored as MMSegmentation scores (full resolution); the release's 513x513
# scoring is deeplabv3plus_r101_r18_voc_release_val513.py.
_base_ = [
    './deeplabv3plus_r101_r18_voc.py',
    '../_base_/recipes/tat_release_voc.py',
]

train_dataloader = {{_base_.release_train_dataloader}}
optim_wrapper = {{_base_.release_optim_wrapper}}
param_scheduler = {{_base_.release_param_scheduler}}
train_cfg = {{_base_.release_train_cfg}}
default_hooks = {{_base_.release_default_hooks}}

# The release's network (CE / 16, no auxiliary head), crops and teacher in
# train mode, and its alpha against CE / 16 (the recipe base).
model = {{_base_.release_distillation}}
