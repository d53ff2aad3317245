# The training recipe of the authors' TaT segmentation release for its
# MobileNetV2 student on COCO-Stuff10k (train_cocostuff10k_mobilenet.sh):
# ./tat_release_cocostuff10k.py (the ResNet-18 script's recipe: data, label
# padding, augmentation, optimiser, cosine schedule) but for the batch, the
# base lr, the length that follows from the batch, alpha and the loss
# scale.  New names only, as there.
_base_ = './tat_release_cocostuff10k.py'

# 9,000 training images in batches of 12 (no partial batch): 750 iterations
# an epoch, 100 epochs.  12 images an iteration: 4 GPUs x 3 here (the
# release: 1 x 12).
release_max_iters = 100 * 750
release_val_interval = 10 * 750
release_train_dataloader = dict(batch_size=3)

# the MobileNetV2 script's base lr (the decode head at 10x, as there)
release_optim_wrapper = dict(optimizer=dict(lr=0.007))
# the same cosine decay over this length
release_param_scheduler = [
    dict(
        _base_.release_param_scheduler[0],
        T_max=release_max_iters,
        end=release_max_iters)
]
release_train_cfg = dict(
    max_iters=release_max_iters, val_interval=release_val_interval)
release_default_hooks = dict(checkpoint=dict(interval=release_val_interval))

# The release's cross-entropy is divided by its batch, here 12
# (batch_average=True), whatever the GPUs; no auxiliary head (base).
release_network = dict(decode_head=dict(loss_decode=dict(loss_weight=1 / 12)))
# alpha = 0.4 (train_cocostuff10k_mobilenet.sh) against CE / 12: TaT weighs
# 12 * alpha = 4.8 against a pixel-mean cross-entropy.
release_distillation = dict(
    architecture=release_network, distiller=dict(loss_weight=0.4))
