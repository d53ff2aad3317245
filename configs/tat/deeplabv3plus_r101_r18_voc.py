# TaT on the authors' release's pair and feature (Lin et al., CVPR 2022):
# DeepLabV3+ R101-D8 -> DeepLabV3+ R18-D8, the decoder's last feature before
# its ReLU, with MMSegmentation's recipe: Pascal VOC 2012 + aug, 512x512
# crops, 40k iterations (4 GPUs x 4 images).  The release's own recipe is
# deeplabv3plus_r101_r18_voc_release.py.
_base_ = '../_base_/deeplabv3plus_r101_r18_distill_voc.py'

# The release distils DeepLabV3+'s last decoder feature before its last
# ReLU (stride 4: 129x129 for its 513x513 crops).  Here that is
# ``decode_head.sep_bottleneck`` of MMSegmentation's DeepLabV3+ (512 channels in R101, 128 in R18, stride 4:
# 128x128 for 512x512 crops), where the release's VOC numbers apply as they
# are: patch grid 16 -> 8x8 patches (256 of them), 64 heads -> 4 patches per
# group, anchor grid 32 -> 4x4 windows (32x32 anchors), alpha / beta / gamma
# = 0.1 / 1.0 / 0.4.  Written in positions, as in every mmtat config.
# (MMSegmentation's DeepLabV3+ is output stride 8, the release's 16: only the
# ASPP branch differs, the distilled stride-4 feature is the same kind.)
model = dict(
    distiller=dict(
        type='TaTDistiller',
        features=dict(
            decoder=dict(
                # before the last ReLU, as the release distils it
                student=dict(module='decode_head.sep_bottleneck', pre_activation=True),
                teacher=dict(module='decode_head.sep_bottleneck', pre_activation=True))),
        patch_size=(8, 8),
        patches_per_group=4,
        anchor_window=(4, 4),
        # alpha = 0.1 (the release's VOC setting), times 16: the release adds
        # alpha * L_tat to its cross-entropy divided by its batch of 16;
        # MMSegmentation's is not divided (configs/tat/README.md, "Loss
        # scale").
        loss_weight=1.6,
        patch_weight=1.0,
        anchor_weight=0.4))
