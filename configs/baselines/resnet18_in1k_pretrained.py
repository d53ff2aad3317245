# The student alone, started from MMPretrain's ImageNet-trained ResNet-18
# (69.90 top-1) and trained 100 more epochs with the same recipe
# (./resnet18_in1k.py): the control of the *_pretrained.py distillations,
# which also train an ImageNet-trained student for 100 epochs, so that what
# the extra training alone gives is not credited to the distillation.
_base_ = './resnet18_in1k.py'

model = dict(
    # the whole classifier (backbone and head) from MMPretrain's checkpoint
    # of this config (its metafile's Weights), loaded when training starts
    init_cfg=dict(
        type='Pretrained',
        checkpoint='https://download.openmmlab.com/mmclassification/v0/'
        'resnet/resnet18_8xb32_in1k_20210831-fbbb1da6.pth'))
