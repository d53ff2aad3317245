# Student-only baseline of
# configs/tat/deeplabv3plus_r101_r18_cocostuff10k_release.py: DeepLabV3+
# R18-D8 alone with the authors' TaT release's recipe on COCO-Stuff10k
# (configs/tat/README.md, "The release's recipe").
_base_ = [
    './deeplabv3plus_r18_cocostuff10k.py',
    '../_base_/recipes/tat_release_cocostuff10k.py',
]

train_dataloader = {{_base_.release_train_dataloader}}
optim_wrapper = {{_base_.release_optim_wrapper}}
param_scheduler = {{_base_.release_param_scheduler}}
train_cfg = {{_base_.release_train_cfg}}
default_hooks = dict(checkpoint=dict(interval={{_base_.release_val_interval}}))

data_preprocessor = dict(size=(513, 513))
model = dict(
    data_preprocessor=data_preprocessor,
    # CE / 16 (the release's batch_average), a mean over the valid pixels
    decode_head=dict(
        loss_decode=dict(loss_weight=1 / 16, avg_non_ignore=True)),
    auxiliary_head=None)
