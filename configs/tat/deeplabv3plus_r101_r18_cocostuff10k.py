# TaT on the authors' release's pair and feature (Lin et al., CVPR 2022):
# DeepLabV3+ R101-D8 -> DeepLabV3+ R18-D8, the decoder's last feature before
# its ReLU, with MMSegmentation's recipe: COCO-Stuff10k, 512x512 crops, 40k
# iterations (4 GPUs x 4 images).  The teacher is trained first, see
# ../_base_/deeplabv3plus_r101_r18_distill_cocostuff10k.py.  The release's
# own recipe is deeplabv3plus_r101_r18_cocostuff10k_release.py.
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
                # before the last ReLU, as the release distils it
                student=dict(module='decode_head.sep_bottleneck', pre_activation=True),
                teacher=dict(module='decode_head.sep_bottleneck', pre_activation=True))),
        patch_size=(4, 4),
        patches_per_group=2,
        anchor_window=(4, 4),
        # alpha = 0.6 (the release's COCO-Stuff10k setting), times 16: the
        # release adds alpha * L_tat to its cross-entropy divided by its
        # batch of 16; MMSegmentation's is not divided (configs/tat/README.md,
        # "Loss scale").
        loss_weight=9.6,
        patch_weight=1.0,
        anchor_weight=1.0))
