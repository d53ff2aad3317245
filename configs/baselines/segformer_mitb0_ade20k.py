# Student-only baseline of the ADE20K SegFormer distillations:
# MMSegmentation's own segformer_mit-b0_8xb2-160k_ade20k-512x512 (37.41 mIoU,
# released; configs/segformer/metafile.yaml of MMSegmentation 1.2.2), the
# student of configs/tat/segformer_mitb5_mitb0_ade20k.py, unchanged but for
# mmtat's run-time hooks.
_base_ = [
    'mmseg::segformer/segformer_mit-b0_8xb2-160k_ade20k-512x512.py',
    '../_base_/mmtat_runtime.py',  # mmtat's hooks
]
