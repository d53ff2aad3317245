# The training recipe of the authors' TaT segmentation release on
# COCO-Stuff10k (train_cocostuff10k_resnet18.sh, dataloaders/datasets/
# cocostuff.py): ./tat_release_voc.py but for the data, the label padding,
# the base lr, the length and alpha.  New names only, as there.
_base_ = './tat_release_voc.py'

# 9,000 training images in batches of 16, the last partial batch kept (no
# drop_last): 563 iterations an epoch, 100 epochs.
release_max_iters = 100 * 563
release_val_interval = 10 * 563

# MMSegmentation's labels: 0 (unlabeled) -> 255, the rest -1 (171 classes)
release_load_annotations = dict(type='LoadAnnotations', reduce_zero_label=True)
# the release pads COCO-Stuff labels with 255 (fill=255), not 0
release_pad = dict(
    type='Pad', size=(513, 513), pad_val=dict(img=0, seg=255))
release_train_pipeline = [
    {{_base_.release_load_image}}, release_load_annotations,
    {{_base_.release_resize}}, {{_base_.release_crop}}, release_pad,
    {{_base_.release_flip}}, {{_base_.release_blur}}, {{_base_.release_pack}}
]
release_val513_pipeline = [
    {{_base_.release_load_image}}, release_load_annotations,
    dict(type='ResizeForScoring', size=(513, 513)), {{_base_.release_pack}}
]
# MMSegmentation's COCO-Stuff10k dataset, with the release's pipeline
release_train_dataloader = dict(
    _delete_=True, batch_size=4, dataset=dict(pipeline=release_train_pipeline))

release_optim_wrapper = dict(optimizer=dict(lr=0.01))
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

# alpha as in the paper's COCO-Stuff10k setting, against CE / 16 (the
# release's own loss scale and lr; TaT-to-CE 16 * alpha)
release_distillation = dict(distiller=dict(loss_weight=0.6))
