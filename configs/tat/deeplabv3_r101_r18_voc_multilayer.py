# Multi-layer TaT, an option shown for its API, not a recommended setting:
# the VOC configuration of deeplabv3_r101_r18_voc.py plus a second pair, the
# third ResNet stage (``backbone.layer3``, also the input of the auxiliary
# head: 1024 channels in R101, 256 in R18, output stride 8, so 64x64 for
# 512x512 crops, like the bottleneck).  Each pair has its own embeddings and logs
# its own loss (``distill.loss_tat_bottleneck``, ``distill.loss_tat_stage3``);
# the second pair uses the same geometry and weights.  Neither the paper
# nor the release distils two layers in segmentation, and this combination
# has not been trained here.
_base_ = './deeplabv3_r101_r18_voc.py'

model = dict(
    distiller=dict(
        features=dict(
            stage3=dict(student='backbone.layer3',
                        teacher='backbone.layer3'))))
