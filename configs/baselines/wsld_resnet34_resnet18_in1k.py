# WSLD: weighted soft labels (Zhou et al., "Rethinking Soft Labels for
# Knowledge Distillation: A Bias-Variance Tradeoff Perspective", ICLR 2021),
# ResNet-34 -> ResNet-18 on ImageNet-1k: MMRazor 1.0.0's config (WSLD on
# head.fc with the labels of head.loss_module, tau 2, weight 2.5; 71.54
# top-1 in its metafile), on MMPretrain's networks and recipe, with mmtat's
# runtime (custom_imports and hooks).  Same data, schedule, networks and
# teacher as configs/tat/resnet34_resnet18_in1k.py.
_base_ = [
    'mmrazor::distill/mmcls/wsld/wsld_logits_resnet34_resnet18_8xb32_in1k.py',
    '../_base_/mmtat_runtime.py',
]

# MMRazor's config also builds its teacher with pretrained=True, which makes
# mmengine.hub fetch MMPretrain's ResNet-34 weights when the model is built,
# before teacher_ckpt loads the same file over them: the weights come from
# teacher_ckpt alone here (the same checkpoint, so the same teacher), and
# the offline checks see every file the run loads.
model = dict(teacher=dict(pretrained=False))
