# TaT as the authors' release runs it (Lin et al., CVPR 2022): DeepLabV3+
# R101-D8 -> DeepLabV3+ R18-D8, the decoder's last feature, COCO-Stuff10k,
# 512x512 crops, 40k iterations (MMSegmentation's schedule, 4 GPUs x 4
# images).  The teacher is trained first, see
# ../_base_/deeplabv3plus_r101_r18_distill_cocostuff10k.py.
_base_ = '../_base_/deeplabv3plus_r101_r18_distill_cocostuff10k.py'

# ``decode_head.sep_bottleneck`` (stride 4: 128x128 for 512x512 crops, the
# release's 129x129 feature) with the release's COCO-Stuff10k numbers as they
# are: patch grid 32 -> 4x4 patches (1024 of them), 512 heads -> 2 patches
# per group, anchor grid 32 -> 4x4 windows, alpha / beta / gamma = 0.6 / 1.0
# / 1.0; written in positions.
model = dict(
    distiller=dict(
        type='TaTDistiller',
        features=dict(
            decoder=dict(
                student='decode_head.sep_bottleneck',
                teacher='decode_head.sep_bottleneck')),
        patch_size=(4, 4),
        patches_per_group=2,
        anchor_window=(4, 4),
        loss_weight=0.6,
        patch_weight=1.0,
        anchor_weight=1.0))
