# deeplabv3plus_mobilenetv2_voc_release.py scored as the authors' release
# scores (image and label resized to 513x513); NOT MMSegmentation's
# protocol, see configs/tat/deeplabv3plus_r101_mobilenetv2_voc_release_val513.py.
_base_ = './deeplabv3plus_mobilenetv2_voc_release.py'

val_dataloader = dict(dataset=dict(pipeline={{_base_.release_val513_pipeline}}))
test_dataloader = val_dataloader
