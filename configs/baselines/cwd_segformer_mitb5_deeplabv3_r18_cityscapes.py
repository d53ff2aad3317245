# CWD: channel-wise distillation (Shu et al., ICCV 2021) across
# architectures: SegFormer MiT-B5 -> DeepLabV3 R18-D8, Cityscapes, 512x1024
# crops, 80k iterations.  Same dataset, schedule, networks and teacher as
# configs/tat/segformer_mitb5_deeplabv3_r18_cityscapes.py; only
# ``model.distiller`` differs.
_base_ = [
    '../_base_/segformer_mitb5_deeplabv3_r18_distill_cityscapes.py',
    '../_base_/distillers/cwd_logits.py',
]

# The CWD of cwd_deeplabv3_r101_r18_cityscapes.py (../_base_/distillers/
# cwd_logits.py: MMRazor's ChannelWiseDivergence on the decode heads' logits,
# tau=1, loss_weight=5), with one connector.  The teacher's logits
# (``decode_head.conv_seg`` of SegformerHead) are at 1/4 of the input, the
# student's at 1/8: CWD compares per-channel distributions over the same
# positions, so the teacher's are averaged over 2x2 windows onto the
# student's grid (mmtat's AvgPoolConnector, no weights; it also makes
# SegFormer's channels-last logits contiguous, which CWD needs).
_base_.cwd_logits_distiller.merge(
    dict(
        connectors=dict(
            loss_cwd_tlogits=dict(type='AvgPoolConnector', kernel_size=2)),
        loss_forward_mappings=dict(
            loss_cwd=dict(preds_T=dict(connector='loss_cwd_tlogits')))))
model = dict(distiller=_base_.cwd_logits_distiller)
