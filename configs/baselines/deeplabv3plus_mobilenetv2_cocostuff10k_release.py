# Student-only baseline of
# configs/tat/deeplabv3plus_r101_mobilenetv2_cocostuff10k_release.py: DeepLabV3+
# MobileNetV2-D8 alone with the authors' TaT release's recipe for its
# MobileNetV2 student on COCO-Stuff10k (batch 12, its lr; docs/en/hyperparameters.md,
# "The MobileNetV2 student").
_base_ = [
    './deeplabv3plus_mobilenetv2_cocostuff10k.py',
    '../_base_/recipes/tat_release_cocostuff10k_mobilenetv2.py',
]

train_dataloader = {{_base_.release_train_dataloader}}
optim_wrapper = {{_base_.release_optim_wrapper}}
param_scheduler = {{_base_.release_param_scheduler}}
train_cfg = {{_base_.release_train_cfg}}
default_hooks = {{_base_.release_default_hooks}}

# the release's network (CE / 12, no auxiliary head) at its 513x513 crops
data_preprocessor = dict(size={{_base_.release_crop_size}})
model = dict(_base_.release_network, data_preprocessor=data_preprocessor)
