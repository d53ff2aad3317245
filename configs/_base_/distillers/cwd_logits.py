# CWD: channel-wise distillation (Shu et al., "Channel-wise Knowledge
# Distillation for Dense Prediction", ICCV 2021) on the decode heads' logits,
# the distiller of every configs/baselines/cwd_*.py.  A new name only
# (``cwd_logits_distiller``): a config takes this file as its second base,
# next to its network x dataset base, and assigns
# ``model = dict(distiller={{_base_.cwd_logits_distiller}})`` (mmengine
# refuses a key that two bases of one config define).
_base_ = './logits.py'  # the recorders of both networks' logits

# Each class channel of the decode heads' logits (``decode_head.conv_seg``)
# is turned into a spatial distribution by a softmax over its pixels, and the
# student's is pulled to the teacher's with a KL divergence (MMRazor's
# ``ChannelWiseDivergence``, averaged over channels and images, so no
# dependence on the class count or the crop).  tau=1, loss_weight=5 as in
# MMRazor's segmentation config for the method,
# configs/distill/mmseg/cwd/cwd_logits_pspnet_r101-d8_pspnet_r18-d8_
# 4xb2-80k_cityscapes-512x1024.py (PSPNet R101-D8 -> R18-D8 on the logits;
# MMRazor 0.x's cwd_cls_head_pspnet_r101_d8_pspnet_r18_d8_512x1024_
# cityscapes_80k.py and the authors' release, pppppM/mmsegmentation-distiller
# configs/distiller/cwd/cwd_psp_r101-d8_distill_psp_r18_d8_512_1024_80k_
# cityscapes.py, use the same tau=1, weight=5).  Logits of two sizes, or in
# channels-last memory (SegformerHead's), need a connector: the SegFormer
# configs add it to this distiller.
cwd_logits_distiller = dict(
    _base_.logit_distiller,
    distill_losses=dict(
        loss_cwd=dict(type='ChannelWiseDivergence', tau=1, loss_weight=5)),
    loss_forward_mappings=dict(
        loss_cwd=dict(
            preds_S=dict(from_student=True, recorder='logits'),
            preds_T=dict(from_student=False, recorder='logits'))))
