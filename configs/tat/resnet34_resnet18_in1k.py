# TaT: Target-aware Transformer distillation (Lin et al., CVPR 2022),
# ResNet-34 -> ResNet-18 on ImageNet-1k, in MMRazor's / MMPretrain's
# protocol: the same data, schedule, networks and teacher as MMRazor's KD
# config (configs/distill/mmcls/kd/kd_logits_resnet34_resnet18_8xb32_in1k.py
# of MMRazor 1.0.0, inherited as it is): MMPretrain's ResNet-18 trained from
# scratch with MMPretrain's ImageNet recipe (SGD lr 0.1, momentum 0.9, weight
# decay 1e-4, 8 GPUs x 32 images, 100 epochs, lr x 0.1 at epochs 30, 60 and
# 90; RandomResizedCrop 224 + flip, ResizeEdge 256 + CenterCrop 224), the
# teacher MMPretrain's ResNet-34 checkpoint (73.62 top-1).  Only the
# distiller differs from MMRazor's KD, DKD, DIST and WSLD configs
# (configs/baselines/*_resnet34_resnet18_in1k.py).
_base_ = [
    'mmrazor::distill/mmcls/kd/kd_logits_resnet34_resnet18_8xb32_in1k.py',
    '../_base_/mmtat_runtime.py',
]

model = dict(
    # mmtat's MMRazor SingleTeacherDistill: the frozen teacher stops after
    # its recorded layer4 (no pooling, no classifier); the student part is
    # MMRazor's.
    type='LeanSingleTeacherDistill',
    distiller=dict(
        _delete_=True,  # MMRazor's KD distiller
        # The authors' ImageNet form: layer4 of both networks (512 channels,
        # 7x7 for 224 crops), query and value Conv3x3 + BN on the student,
        # the teacher's map itself as key, one head of global attention over
        # the 49 positions (docs/en/classification.md).
        type='TaTClsDistiller',
        # The training crop, RandomResizedCrop(scale=224) of the inherited
        # pipeline (mmpretrain::_base_/datasets/imagenet_bs32.py): MMPretrain's
        # pre-processor has no size to take it from.
        input_size=(224, 224),
        # The release's total loss is 0.1 * CE + 0.2 * L_tat under AdamW,
        # whose update does not change when the loss is multiplied by a
        # constant (up to its epsilon): only the ratio L_tat : CE = 2 : 1
        # carries over.  MMPretrain's CE weight is 1 (its lr 0.1 is tuned
        # for it), so the TaT weight is 2 * 1 = 2.0
        # (docs/en/hyperparameters.md, "Image classification").
        loss_weight=2.0))
