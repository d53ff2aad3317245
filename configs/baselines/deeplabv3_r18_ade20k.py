# Student-only baseline of the ADE20K DeepLabV3 distillations: DeepLabV3
# R18-D8 on ADE20K (150 classes), 512x512 crops, 80k iterations (4 GPUs x 4
# images).  MMSegmentation ships no R18 DeepLabV3 for this dataset, so this
# is its R50 config with the R18-D8 network of its deeplabv3_r18-d8 configs
# (../_base_/networks/deeplabv3.py: the same student as model.architecture of
# configs/tat/deeplabv3_r101_r18_ade20k.py, same dataset, schedule and
# runtime).  A plain MMSegmentation config: it also runs with
# MMSegmentation's own tools/train.py.
_base_ = [
    'mmseg::deeplabv3/deeplabv3_r50-d8_4xb4-80k_ade20k-512x512.py',
    '../_base_/networks/deeplabv3.py',
    '../_base_/mmtat_runtime.py',  # mmtat's hooks
]

model = {{_base_.deeplabv3_r18}}
