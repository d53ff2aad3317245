# CWD: channel-wise distillation (Shu et al., "Channel-wise Knowledge
# Distillation for Dense Prediction", ICCV 2021) between transformers:
# SegFormer MiT-B5 -> SegFormer MiT-B0, ADE20K, 512x512 crops, 160k
# iterations.  Same dataset, schedule, networks and teacher as
# configs/tat/segformer_mitb5_mitb0_ade20k.py; only ``model.distiller``
# differs.
_base_ = '../_base_/segformer_mitb5_mitb0_distill_ade20k.py'

# Settings as in cwd_deeplabv3_r101_r18_ade20k.py (MMRazor's
# ChannelWiseDivergence on the decode heads' 150 logit channels, tau=1,
# loss_weight=5, MMRazor's segmentation config for the method).  Both
# networks give their logits at 1/4 of the input, but SegformerHead's come in
# channels-last memory, which ChannelWiseDivergence (it ``view``s them)
# refuses: mmtat's AvgPoolConnector with a 1x1 window hands them on unchanged
# in contiguous memory.
model = dict(
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(
            logits=dict(type='ModuleOutputs', source='decode_head.conv_seg')),
        teacher_recorders=dict(
            logits=dict(type='ModuleOutputs', source='decode_head.conv_seg')),
        connectors=dict(
            loss_cwd_slogits=dict(type='AvgPoolConnector', kernel_size=1),
            loss_cwd_tlogits=dict(type='AvgPoolConnector', kernel_size=1)),
        distill_losses=dict(
            loss_cwd=dict(type='ChannelWiseDivergence', tau=1, loss_weight=5)),
        loss_forward_mappings=dict(
            loss_cwd=dict(
                preds_S=dict(
                    from_student=True,
                    recorder='logits',
                    connector='loss_cwd_slogits'),
                preds_T=dict(
                    from_student=False,
                    recorder='logits',
                    connector='loss_cwd_tlogits')))))
