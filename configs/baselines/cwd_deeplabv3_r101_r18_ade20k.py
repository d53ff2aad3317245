# CWD: channel-wise distillation (Shu et al., "Channel-wise Knowledge
# Distillation for Dense Prediction", ICCV 2021), DeepLabV3 R101-D8 ->
# DeepLabV3 R18-D8, ADE20K, 512x512 crops, 80k iterations.  Same
# dataset, schedule, networks and teacher as
# configs/tat/deeplabv3_r101_r18_ade20k.py; only ``model.distiller``
# differs.
_base_ = '../_base_/deeplabv3_r101_r18_distill_ade20k.py'

# Settings.  Each of the 150 class channels of the decode heads' logits
# (``decode_head.conv_seg``, 1/8 of the input) is turned into a spatial
# distribution by a softmax over its pixels, and the student's is pulled to
# the teacher's with a KL divergence (MMRazor's ``ChannelWiseDivergence``,
# averaged over channels and images, so no dependence on the class count or
# the crop).  tau=1, loss_weight=5 as in MMRazor's segmentation config for the
# method, configs/distill/mmseg/cwd/cwd_logits_pspnet_r101-d8_pspnet_r18-d8_
# 4xb2-80k_cityscapes-512x1024.py (PSPNet R101-D8 -> R18-D8 on the logits;
# MMRazor 0.x's cwd_cls_head_pspnet_r101_d8_pspnet_r18_d8_512x1024_
# cityscapes_80k.py and the authors' release, pppppM/mmsegmentation-distiller
# configs/distiller/cwd/cwd_psp_r101-d8_distill_psp_r18_d8_512_1024_80k_
# cityscapes.py, use the same tau=1, weight=5).
model = dict(
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(
            logits=dict(type='ModuleOutputs', source='decode_head.conv_seg')),
        teacher_recorders=dict(
            logits=dict(type='ModuleOutputs', source='decode_head.conv_seg')),
        distill_losses=dict(
            loss_cwd=dict(type='ChannelWiseDivergence', tau=1, loss_weight=5)),
        loss_forward_mappings=dict(
            loss_cwd=dict(
                preds_S=dict(from_student=True, recorder='logits'),
                preds_T=dict(from_student=False, recorder='logits')))))
