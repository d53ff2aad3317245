# The student alone: MMPretrain's ResNet-18 ImageNet-1k config as it is
# (resnet/resnet18_8xb32_in1k.py: SGD lr 0.1, 8 GPUs x 32 images, 100
# epochs; 69.90 top-1 in its metafile), the student of every R34 -> R18
# config and the recipe MMRazor's R34 -> R18 configs train it with, with
# mmtat's runtime (custom_imports and hooks).  A plain MMPretrain config: it
# also runs with MMPretrain's own tools/train.py.
_base_ = [
    'mmpretrain::resnet/resnet18_8xb32_in1k.py',
    '../_base_/mmtat_runtime.py',
]
