# Student-only baseline of the Cityscapes distillations: MMSegmentation's own
# deeplabv3_r18-d8_4xb2-80k_cityscapes-512x1024 (76.70 mIoU, released;
# configs/deeplabv3/metafile.yaml of MMSegmentation 1.2.2), the student of
# configs/tat/deeplabv3_r101_r18_cityscapes.py and
# configs/tat/segformer_mitb5_deeplabv3_r18_cityscapes.py, unchanged but for
# mmtat's run-time hooks.
_base_ = [
    'mmseg::deeplabv3/deeplabv3_r18-d8_4xb2-80k_cityscapes-512x1024.py',
    '../_base_/mmtat_runtime.py',  # mmtat's hooks
]
