# TaT between transformers: SegFormer MiT-B5 -> SegFormer MiT-B0, ADE20K (150
# classes), 512x512 crops, 160k iterations (MMSegmentation's SegFormer
# schedule, 8 GPUs x 2 images).
_base_ = [
    '../_base_/segformer_mitb5_mitb0_distill_ade20k.py',
    '../_base_/distillers/tat.py',
]

# The distilled feature: ``decode_head.fusion_conv`` of both networks, before
# its ReLU (the BatchNorm output, as the release distils its decoder).  It is
# SegformerHead's last feature before the classifier, the four MiT stages
# resized to 1/4 and fused (256 channels in B5 and in B0, 128x128 for a
# 512x512 crop): the same kind and stride as the release's DeepLabV3+
# decoder feature, so its geometry applies unchanged.  The backbone stage
# maps (MiT blocks' tokens, which TaTDistiller would turn into maps) are not
# distilled: each holds one scale only, all four reach the fused map, and the
# release distils one decoder feature.  (A second pair on a stage is one
# more entry in ``features``, see deeplabv3_r101_r18_voc_multilayer.py.)
# Geometry and weights: the release's COCO-Stuff10k setting
# (../_base_/distillers/tat.py), for the reason given in
# deeplabv3_r101_r18_ade20k.py (many classes of small regions):
# 4x4-position patches (1024 of them), 2 per group (512 heads), 4x4 anchor
# windows (32x32 anchors), beta / gamma = 1.0 / 1.0.  Not tuned on ADE20K.
# The weight is the SGD configs' 0.6 (the release's step on the TaT term at
# lr 0.01): AdamW's update does not scale with the loss, so there is no
# absolute step to match, and the TaT-to-CE balance of those configs is
# kept (docs/en/hyperparameters.md, "Loss scale for MMSegmentation's
# recipe").
model = dict(distiller=dict(
    _base_.tat_fusion_conv_cocostuff10k, input_size=_base_.crop_size))
