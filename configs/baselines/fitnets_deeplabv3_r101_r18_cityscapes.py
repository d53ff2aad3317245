# FitNets: hint-based feature distillation (Romero et al., "FitNets: Hints for
# Thin Deep Nets", ICLR 2015), DeepLabV3 R101-D8 -> DeepLabV3 R18-D8,
# Cityscapes, 512x1024 crops, 80k iterations. Same dataset, schedule, networks
# and teacher as configs/tat/deeplabv3_r101_r18_cityscapes.py; only
# ``model.distiller`` differs.
_base_ = '../_base_/deeplabv3_r101_r18_distill_cityscapes.py'

# Settings.  The hint is the output of the module TaT distils (TaT takes
# its map before the ReLU, FitNets the output), the decode heads'
# ``decode_head.bottleneck`` (128 channels for the student, 512 for the
# teacher, 1/8 of the input).  As in FitNets a trainable regressor maps the
# student's feature to the teacher's width; as in MMRazor's FitNets config
# (configs/distill/mmcls/fitnets/fitnets_backbone_logits_resnet50_resnet18_
# 8xb32_in1k.py) it is a ``ConvModuleConnector`` (1x1 conv + BN + ReLU) and
# the hint loss is MMRazor's ``L2Loss`` (features L2-normalised per image,
# the default) with loss_weight=10.  The connector lives in the distiller and
# is trained with the student.
model = dict(
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(
            feat=dict(type='ModuleOutputs', source='decode_head.bottleneck')),
        teacher_recorders=dict(
            feat=dict(type='ModuleOutputs', source='decode_head.bottleneck')),
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
                t_feature=dict(from_student=False, recorder='feat')))))
