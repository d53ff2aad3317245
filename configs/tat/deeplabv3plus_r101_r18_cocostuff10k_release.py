# TaT with the authors' release's whole training recipe (Lin et al., CVPR
# 2022; sihaoevery/TaT-seg): DeepLabV3+ R101-D8 -> R18-D8 on COCO-Stuff10k,
# as far as MMSegmentation expresses it (docs/en/hyperparameters.md, "The
# release's recipe").  513x513 crops, 100 epochs of 16 images (56,300
# iterations; 4 GPUs x 4).  The teacher is trained first, see
# ../_base_/deeplabv3plus_r101_r18_distill_cocostuff10k.py.  The release's
# 513x513 scoring: deeplabv3plus_r101_r18_cocostuff10k_release_val513.py.
_base_ = [
    './deeplabv3plus_r101_r18_cocostuff10k.py',
    '../_base_/recipes/tat_release_cocostuff10k.py',
]

train_dataloader = {{_base_.release_train_dataloader}}
optim_wrapper = {{_base_.release_optim_wrapper}}
param_scheduler = {{_base_.release_param_scheduler}}
train_cfg = {{_base_.release_train_cfg}}
default_hooks = {{_base_.release_default_hooks}}

# The release's network (CE / 16, no auxiliary head), crops and teacher in
# train mode, and its alpha against CE / 16 (the recipe base).
model = {{_base_.release_distillation}}
