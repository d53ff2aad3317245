# TaT across architectures: SegFormer MiT-B5 (transformer teacher) ->
# DeepLabV3 R18-D8 (CNN student), Cityscapes, 512x1024 crops, 80k iterations
# (the student's MMSegmentation schedule, 4 GPUs x 2 images).
_base_ = [
    '../_base_/segformer_mitb5_deeplabv3_r18_distill_cityscapes.py',
    '../_base_/distillers/tat.py',
]

# The teacher's fused decoder feature (``decode_head.fusion_conv``: 256
# channels at 1/4 of the input, 128x256 for a 512x1024 crop; the feature the
# release distils in its DeepLabV3+ teacher) against the student's
# ``decode_head.bottleneck`` (128 channels at 1/8), which TaTDistiller
# resizes to the teacher's map; both before their last ReLU, as the release
# distils its decoder.  The release's VOC geometry
# (../_base_/distillers/tat.py) as for the Cityscapes CNN pair
# (deeplabv3_r101_r18_cityscapes.py): 8x8-position patches, 4 per group
# (16x32 = 512 patches here), 4x4 anchor windows (32x64 = 2048 anchors, where
# TaTLoss switches to its memory-bounded attention), alpha / beta / gamma =
# 0.1 / 1.0 / 0.4.
model = dict(
    distiller=dict(
        _base_.tat_voc,
        features=dict(
            decoder=dict(
                student=_base_.tat_bottleneck.bottleneck.student,
                teacher=_base_.tat_fusion_conv.decoder.teacher)),
        input_size=_base_.crop_size))
