# deeplabv3plus_r101_mobilenetv2_cocostuff10k_release.py scored as the authors'
# release scores: image and label resized to 513x513 (FixedResize) before
# the metric.  NOT MMSegmentation's protocol (full resolution): its mIoU does
# not compare with MMSegmentation's tables.  Training is the same; to score
# a checkpoint of the _release config this way:
#   python tools/test.py THIS_CONFIG CHECKPOINT
_base_ = './deeplabv3plus_r101_mobilenetv2_cocostuff10k_release.py'

val_dataloader = dict(dataset=dict(pipeline={{_base_.release_val513_pipeline}}))
test_dataloader = val_dataloader
