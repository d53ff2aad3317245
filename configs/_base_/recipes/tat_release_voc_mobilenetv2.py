# The training recipe of the authors' TaT segmentation release for its
# MobileNetV2 student on Pascal VOC 2012 + aug (train_voc_mobilenet.sh):
# ./tat_release_voc.py (the ResNet-18 script's recipe: data, augmentation,
# optimiser, cosine schedule, crops, teacher mode) but for the batch, the
# base lr, the length that follows from the batch, and the loss scale that
# follows from it.  New names only, as there.  Used by
# configs/tat/deeplabv3plus_r101_mobilenetv2_voc_release.py and the
# student-only configs/baselines/deeplabv3plus_mobilenetv2_voc_release.py.
_base_ = './tat_release_voc.py'

# 10,582 images in batches of 12, the last partial batch dropped: 881
# iterations an epoch, 100 epochs.  12 images an iteration: 4 GPUs x 3 here
# (the release: 1 x 12).
release_max_iters = 100 * (10582 // 12)
release_val_interval = 10 * (10582 // 12)
release_train_dataloader = dict(batch_size=3)

# the MobileNetV2 script's base lr (the decode head at 10x, as there)
release_optim_wrapper = dict(optimizer=dict(lr=0.004))
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
# alpha = 0.1 (train_voc_mobilenet.sh) against CE / 12: TaT weighs 12 *
# alpha = 1.2 against a pixel-mean cross-entropy; crops and train-mode
# teacher as in the base.
release_distillation = dict(
    architecture=release_network, distiller=dict(loss_weight=0.1))
