# TaT on the authors' release's pair and feature (Lin et al., CVPR 2022):
# DeepLabV3+ R101-D8 -> DeepLabV3+ R18-D8, the decoder's last feature before
# its ReLU, with MMSegmentation's recipe: COCO-Stuff10k, 512x512 crops, 40k
# iterations (4 GPUs x 4 images).  The teacher is trained first, see
# ../_base_/deeplabv3plus_r101_r18_distill_cocostuff10k.py.  The release's
# own recipe is deeplabv3plus_r101_r18_cocostuff10k_release.py.
_base_ = [
    '../_base_/deeplabv3plus_r101_r18_distill_cocostuff10k.py',
    '../_base_/distillers/tat.py',
]

# ``decode_head.sep_bottleneck`` (stride 4: 128x128 for 512x512 crops, the
# release's 129x129 feature) with the release's COCO-Stuff10k numbers
# (../_base_/distillers/tat.py) as they are: patch grid 32 -> 4x4 patches
# (1024 of them), 512 heads -> 2 patches per group, anchor grid 32 -> 4x4
# windows, alpha / beta / gamma = 0.6 / 1.0 / 1.0; written in positions.
model = dict(distiller=dict(
    _base_.tat_sep_bottleneck_cocostuff10k, input_size=_base_.crop_size))
