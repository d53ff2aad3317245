# FitNets: hint-based feature distillation (Romero et al., "FitNets: Hints for
# Thin Deep Nets", ICLR 2015) on the decode heads' ``decode_head.bottleneck``
# of the DeepLabV3 R101-D8 -> R18-D8 pair, the distiller of every
# configs/baselines/fitnets_*.py.  A new name only
# (``fitnets_bottleneck_distiller``): a config takes this file as its second
# base, next to its network x dataset base, and assigns it,
#   model = dict(distiller={{_base_.fitnets_bottleneck_distiller}})
# (mmengine refuses a key that two bases of one config define).
_base_ = './bottleneck.py'  # the recorders of both networks' bottleneck

# The hint is the output of the module TaT distils (TaT takes its map before
# the ReLU, FitNets the output), the decode heads' ``decode_head.bottleneck``
# (128 channels for the student, 512 for the teacher, 1/8 of the input).  As
# in FitNets a trainable regressor maps the student's feature to the
# teacher's width; as in MMRazor's FitNets config
# (configs/distill/mmcls/fitnets/fitnets_backbone_logits_resnet50_resnet18_
# 8xb32_in1k.py) it is a ``ConvModuleConnector`` (1x1 conv + BN + ReLU) and
# the hint loss is MMRazor's ``L2Loss`` (features L2-normalised per image,
# the default) with loss_weight=10.  The connector lives in the distiller and
# is trained with the student.
fitnets_bottleneck_distiller = dict(
    _base_.bottleneck_distiller,
    connectors=dict(
        loss_fitnets_sfeat=dict(
            type='ConvModuleConnector',
            in_channel=128,
            out_channel=512,
            kernel_size=1,
            norm_cfg=dict(type='BN'))),
    distill_losses=dict(loss_fitnets=dict(type='L2Loss', loss_weight=10)),
    loss_forward_mappings=dict(
        loss_fitnets=dict(
            s_feature=dict(
                from_student=True,
                recorder='feat',
                connector='loss_fitnets_sfeat'),
            t_feature=dict(from_student=False, recorder='feat'))))
