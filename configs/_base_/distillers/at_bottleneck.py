# AT: attention transfer (Zagoruyko & Komodakis, "Paying More Attention to
# Attention", ICLR 2017) on the decode heads' ``decode_head.bottleneck`` of
# the DeepLabV3 R101-D8 -> R18-D8 pair, the distiller of every
# configs/baselines/at_*.py.  A new name only (``at_bottleneck_distiller``):
# a config takes this file as its second base, next to its network x dataset
# base, and assigns it,
#   model = dict(distiller={{_base_.at_bottleneck_distiller}})
# (mmengine refuses a key that two bases of one config define).
_base_ = './bottleneck.py'  # the recorders of both networks' bottleneck

# The activation-based attention maps (channel mean of the squared feature,
# L2-normalised per image) of the output of the module TaT distils,
# ``decode_head.bottleneck`` (128 vs. 512 channels, 1/8 of the input; the
# maps have one channel, so no connector is needed), are matched with
# MMRazor's ``ATLoss``: the squared difference averaged over images and
# positions.  That is the paper's normalisation (beta = 1000 divided by the
# number of elements of the attention map and by the batch size) and the
# authors' code (szagoruyko/attention-transfer: beta * at_loss, run with
# --beta 1e+3), hence loss_weight=1000.  (MMRazor's only ATLoss config,
# configs/distill/mmcls/zskt/zskt_backbone_logits_resnet34_resnet18_8xb16_
# cifar10.py, uses 250: the weight of ZSKT, a data-free method.)
at_bottleneck_distiller = dict(
    _base_.bottleneck_distiller,
    distill_losses=dict(loss_at=dict(type='ATLoss', loss_weight=1000.0)),
    loss_forward_mappings=dict(
        loss_at=dict(
            s_feature=dict(from_student=True, recorder='feat'),
            t_feature=dict(from_student=False, recorder='feat'))))
