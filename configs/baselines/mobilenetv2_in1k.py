# The student alone: MMPretrain's MobileNetV2 ImageNet-1k config as it is
# (mobilenet_v2/mobilenet-v2_8xb32_in1k.py: SGD lr 0.045, lr x 0.98 per
# epoch, 300 epochs, 8 GPUs x 32 images; 71.86 top-1 in its metafile), the
# student of every R50 -> MobileNetV2 config and the recipe MMRazor's KD
# config of the pair trains it with, with mmtat's runtime (custom_imports
# and hooks).  A plain MMPretrain config: it also runs with MMPretrain's own
# tools/train.py.
_base_ = [
    'mmpretrain::mobilenet_v2/mobilenet-v2_8xb32_in1k.py',
    '../_base_/mmtat_runtime.py',
]
