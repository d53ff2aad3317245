# TaT: Target-aware Transformer distillation (Lin et al., CVPR 2022),
# ResNet-50 -> MobileNetV2 on ImageNet-1k, a pair of different families.
# The same data, schedule, networks and teacher as MMRazor's KD config of
# the pair (configs/distill/mmcls/kd/kd_logits_resnet50_mobilenet-v2_8xb32_
# in1k.py of MMRazor 1.0.0, inherited as it is): MMPretrain's MobileNetV2
# trained from scratch with its own recipe (SGD lr 0.045, momentum 0.9,
# weight decay 4e-5, lr x 0.98 per epoch, 300 epochs, 8 GPUs x 32 images,
# pillow resizing), the teacher MMPretrain's ResNet-50 checkpoint (76.55
# top-1).  The authors' release has no such pair: the settings are the R34
# -> R18 ones (./resnet34_resnet18_in1k.py), the feature each network's last
# map.
_base_ = [
    'mmrazor::distill/mmcls/kd/kd_logits_resnet50_mobilenet-v2_8xb32_in1k.py',
    '../_base_/mmtat_runtime.py',
]

model = dict(
    # mmtat's MMRazor SingleTeacherDistill: the frozen teacher stops after
    # its recorded layer4 (no pooling, no classifier)
    type='LeanSingleTeacherDistill',
    distiller=dict(
        _delete_=True,  # MMRazor's KD distiller
        type='TaTClsDistiller',
        # The last map of each network, the one its classifier pools: the
        # ResNet-50's layer4 (2048 channels, 7x7 for 224 crops) and the
        # MobileNetV2's final 1x1 ConvModule, backbone.conv2 (320 -> 1280
        # channels, after its ReLU6, 7x7; the backbone's out_indices=(7, )).
        # The query and value embeddings are Conv3x3 1280 -> 2048 + BN
        # (23.6M weights each, about 1.2 GMACs each per image at 7x7, more
        # than the student's 0.3 GFLOPs; training only).
        features=dict(
            last_map=dict(student='backbone.conv2',
                          teacher='backbone.layer4')),
        # the training crop, RandomResizedCrop(scale=224) of the inherited
        # pipeline (mmpretrain::_base_/datasets/imagenet_bs32_pil_resize.py)
        input_size=(224, 224),
        # L_tat : CE = 2 : 1, the release's ratio, against MMPretrain's CE
        # weight 1: as for R34 -> R18 (docs/en/hyperparameters.md, "Image
        # classification"); not tuned for this pair.
        loss_weight=2.0))
