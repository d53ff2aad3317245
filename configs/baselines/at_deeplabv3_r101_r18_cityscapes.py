# AT: attention transfer (Zagoruyko & Komodakis, "Paying More Attention to
# Attention", ICLR 2017), DeepLabV3 R101-D8 -> DeepLabV3 R18-D8, Cityscapes,
# 512x1024 crops, 80k iterations. Same dataset, schedule, networks and teacher
# as configs/tat/deeplabv3_r101_r18_cityscapes.py; only ``model.distiller``
# differs.
_base_ = '../_base_/deeplabv3_r101_r18_distill_cityscapes.py'

# Settings.  The activation-based attention maps (channel mean of the squared
# feature, L2-normalised per image) of the output of the module TaT distils,
# ``decode_head.bottleneck`` (128 vs. 512 channels, 1/8 of the input; the
# maps have one channel, so no connector is needed), are matched with
# MMRazor's ``ATLoss``: the squared difference averaged over images and
# positions.  That is the paper's normalisation (beta = 1000 divided by the
# number of elements of the attention map and by the batch size) and the
# authors' code (szagoruyko/attention-transfer: beta * at_loss, run with
# --beta 1e+3), hence loss_weight=1000.  (MMRazor's only ATLoss config,
# configs/distill/mmcls/zskt/zskt_backbone_logits_resnet34_resnet18_8xb16_
# cifar10.py, uses 250: the weight of ZSKT, a data-free method.)
model = dict(
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(
            feat=dict(type='ModuleOutputs', source='decode_head.bottleneck')),
        teacher_recorders=dict(
            feat=dict(type='ModuleOutputs', source='decode_head.bottleneck')),
        distill_losses=dict(loss_at=dict(type='ATLoss', loss_weight=1000.0)),
        loss_forward_mappings=dict(
            loss_at=dict(
                s_feature=dict(from_student=True, recorder='feat'),
                t_feature=dict(from_student=False, recorder='feat')))))
