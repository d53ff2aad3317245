# DIST (Huang et al., "Knowledge Distillation from A Stronger Teacher",
# NeurIPS 2022) on the decode heads' logits, the distiller of every
# configs/baselines/dist_*.py.  A new name only (``dist_logits_distiller``):
# a config takes this file as its second base, next to its network x dataset
# base, and assigns it,
#   model = dict(distiller={{_base_.dist_logits_distiller}})
# (mmengine refuses a key that two bases of one config define).
_base_ = './logits.py'  # the recorders of both networks' logits

# The class probabilities of every output pixel of the decode heads'
# classifiers (``decode_head.conv_seg``) are matched by their Pearson
# correlation, across the classes of each pixel (inter-class) and across all
# pixels of the batch for each class (intra-class): MMRazor's ``DISTLoss``
# with the pixels as its samples (mmtat's ``PixelsToSamples`` on both sides;
# on the map itself DISTLoss would correlate over the wrong axes).  The DIST
# authors' segmentation settings (hunto/DIST_KD, segmentation/): beta = gamma
# = 1 (losses/dist_kd.py, ``DIST(beta=1., gamma=1.)``, which flattens the
# pixels the same way), no temperature, and weight lambda_kd = 1 on the
# decode head's logits only (train_kd.py's default, which
# train_scripts/train_kd/deeplabv3_res18.sh keeps; it trains no auxiliary
# head), next to a cross-entropy averaged over pixels as MMSegmentation's is;
# hence tau=1, loss_weight=1.  (MMRazor's only DIST config,
# configs/distill/mmcls/dist/dist_logits_resnet34_resnet18_8xb32_in1k.py,
# uses loss_weight=2 for ImageNet classification.)  Nothing depends on the
# class count or the crop.
dist_logits_distiller = dict(
    _base_.logit_distiller,
    connectors=dict(
        loss_dist_slogits=dict(type='PixelsToSamples'),
        loss_dist_tlogits=dict(type='PixelsToSamples')),
    distill_losses=dict(
        loss_dist=dict(
            type='DISTLoss',
            inter_loss_weight=1.0,  # beta
            intra_loss_weight=1.0,  # gamma
            tau=1.0,
            loss_weight=1.0)),
    loss_forward_mappings=dict(
        loss_dist=dict(
            logits_S=dict(from_student=True, recorder='logits',
                          connector='loss_dist_slogits'),
            logits_T=dict(from_student=False, recorder='logits',
                          connector='loss_dist_tlogits'))))
