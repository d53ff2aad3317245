# MGD: masked generative distillation (Yang et al., "Masked Generative
# Distillation", ECCV 2022) on the decode heads' ``decode_head.bottleneck``
# of the DeepLabV3 R101-D8 -> R18-D8 pair, the distiller of every
# configs/baselines/mgd_*.py.  A new name only (``mgd_bottleneck_distiller``):
# a config takes this file as its second base, next to its network x dataset
# base, and assigns it,
#   model = dict(distiller={{_base_.mgd_bottleneck_distiller}})
# (mmengine refuses a key that two bases of one config define).
_base_ = './bottleneck.py'  # the recorders of both networks' bottleneck

# Random pixels of the student's feature are masked and a small generation
# block (MMRazor's ``MGDConnector``: 1x1 alignment conv 128 -> 512, then
# conv3x3-ReLU-conv3x3) has to reproduce the teacher's full feature;
# MMRazor's ``MGDLoss`` is the summed squared error per image times
# alpha_mgd.  The feature is the output of the module TaT distils,
# ``decode_head.bottleneck`` (128 vs. 512 channels, 1/8 of the input).
# alpha_mgd=2e-5 and lambda_mgd (mask ratio)=0.75 are the paper's semantic
# segmentation settings, as in the authors' release (yzd-v/MGD,
# seg/configs/distillers/mgd/psp_r101_distill_deepv3_r18_40k_512x512_city.py,
# DeepLabV3 R18 student).  MMRazor ships MGD for detection only
# (configs/distill/mmdet/mgd/mgd_fpn_retina_x101_retina_r50_2x_coco.py:
# alpha_mgd=2e-5, lambda_mgd=0.65 for detection).
mgd_bottleneck_distiller = dict(
    _base_.bottleneck_distiller,
    connectors=dict(
        loss_mgd_sfeat=dict(
            type='MGDConnector',
            student_channels=128,
            teacher_channels=512,
            lambda_mgd=0.75)),
    distill_losses=dict(loss_mgd=dict(type='MGDLoss', alpha_mgd=0.00002)),
    loss_forward_mappings=dict(
        loss_mgd=dict(
            preds_S=dict(
                from_student=True,
                recorder='feat',
                connector='loss_mgd_sfeat'),
            preds_T=dict(from_student=False, recorder='feat'))))
