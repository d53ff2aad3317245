# TaT's settings for the MobileNetV2 student (the authors' release's
# train_voc_mobilenet.sh and train_cocostuff10k_mobilenet.sh), written once:
# ``tat_voc_mobilenetv2`` and ``tat_cocostuff10k_mobilenetv2``, TaTDistillers
# without their features, and the distillers of the shipped MobileNetV2
# configs on the decoder feature (``tat_sep_bottleneck_<setting>``, at the
# end).  ./tat.py (the ResNet-18 settings, the features) is this file's
# base, so a MobileNetV2 config takes this file only, next to its network x
# dataset base, and assigns its distiller,
#   model = dict(distiller=dict(
#       _base_.tat_sep_bottleneck_voc_mobilenetv2,
#       input_size=_base_.crop_size))
# New names only (mmengine refuses a key that two bases of one config
# define).  Where every number comes from: docs/en/hyperparameters.md,
# "The MobileNetV2 student".
_base_ = './tat.py'

# The release's MobileNetV2 scripts differ from its ResNet-18 ones in lr and
# batch (VOC: lr 0.004, batch 12; COCO-Stuff10k: lr 0.007, batch 12;
# ResNet-18: 0.007 / 0.01, batch 16), in gamma (VOC) and alpha (COCO-
# Stuff10k), and in the geometry, on the same 129x129 decoder map (513x513
# crops, stride 4), written here in positions of the map as ./tat.py's.
#
# Pascal VOC (train_voc_mobilenet.sh):
#   * patch grid 32x32 -> 129 // 32 = 4x4-position patches, 1024 patches;
#   * 1024 heads -> 1024 / 1024 = 1 patch per group (attention over the 16
#     positions of one patch);
#   * anchor grid 64x64 -> 129 // 64 = 2x2 pooling window: 64x64 = 4096
#     anchors on the 129x129 map (and on the 128x128 map of a 512x512
#     crop), one head over all of them;
#   * alpha / beta / gamma = 0.1 / 1.0 / 0.5.
tat_voc_mobilenetv2 = dict(
    _base_.tat_voc,
    patch_size=(4, 4),
    patches_per_group=1,
    anchor_window=(2, 2),
    # alpha * lr_release / lr = 0.1 * 0.004 / 0.01: the release's own step
    # on the TaT term (SGD: lr x gradient; the release trains the student's
    # backbone and the embeddings at its base lr, 0.004 in this script)
    # under MMSegmentation's lr 0.01, the rule of ./tat.py's weights
    # (docs/en/hyperparameters.md, "Loss scale for MMSegmentation's recipe"
    # and "The MobileNetV2 student").  The release-recipe configs set alpha
    # itself, against CE / 12 (../recipes/tat_release_*_mobilenetv2.py).
    loss_weight=0.04,
    patch_weight=1.0,  # beta
    anchor_weight=0.5)  # gamma

# COCO-Stuff10k (train_cocostuff10k_mobilenet.sh): the geometry of the
# ResNet-18 VOC script (./tat.py's ``tat_voc``):
#   * patch grid 16x16 -> 129 // 16 = 8x8-position patches, 256 patches;
#   * 64 heads -> 256 / 64 = 4 patches per group;
#   * anchor grid 32x32 -> 129 // 32 = 4x4 pooling window (32x32 anchors);
#   * alpha / beta / gamma = 0.4 / 1.0 / 1.0.
tat_cocostuff10k_mobilenetv2 = dict(
    _base_.tat_voc,  # its geometry and beta
    # alpha * lr_release / lr = 0.4 * 0.007 / 0.01: the release's own step
    # on the TaT term (its base lr 0.007 in this script) under
    # MMSegmentation's lr 0.01, as above
    loss_weight=0.28,
    anchor_weight=1.0)  # gamma

# The distillers of the shipped MobileNetV2 configs: the decoder's stride-4
# map before its last ReLU, ``decode_head.sep_bottleneck`` of both networks
# (512 channels each: MMSegmentation's MobileNetV2 DeepLabV3+ keeps the
# R101-D8 decoder widths), as for ResNet-18.
tat_sep_bottleneck_voc_mobilenetv2 = dict(
    tat_voc_mobilenetv2, features=_base_.tat_sep_bottleneck)
tat_sep_bottleneck_cocostuff10k_mobilenetv2 = dict(
    tat_cocostuff10k_mobilenetv2, features=_base_.tat_sep_bottleneck)
