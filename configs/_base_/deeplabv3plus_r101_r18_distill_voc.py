# DeepLabV3+ R101-D8 (teacher) -> R18-D8 (student) on Pascal VOC 2012 + aug,
# 512x512 crops, MMSegmentation's 40k schedule (4 GPUs x 4 images): the pair
# of the authors' TaT release, DeepLabV3+ R101 -> R18, with MMSegmentation's
# networks and recipe (docs/en/hyperparameters.md, "The release's recipe",
# lists what matches the release and what does not).  Everything but the
# distiller: a distillation config inherits this file and sets
# ``model.distiller`` only.
#
# The dataset, schedule, runtime, algorithm, class count and validation loop
# are those of ./deeplabv3_r101_r18_distill_voc.py; its two networks become
# MMSegmentation's DeepLabV3+ R18-D8 and R101-D8 (./networks/deeplabv3.py),
# merged into them, so the class count set there stays.
_base_ = './deeplabv3_r101_r18_distill_voc.py'

# The teacher: MMSegmentation's released
# deeplabv3plus_r101-d8_4xb4-40k_voc12aug-512x512 (78.62 mIoU,
# configs/deeplabv3plus/metafile.yaml of MMSegmentation 1.2.2).
# It is written into ``model`` only (no top-level variable), so that one
# override replaces it everywhere.  Offline, point it at a local copy:
#   --cfg-options model.teacher_ckpt=/path/to/deeplabv3plus_r101-d8_512x512_40k_voc12aug_20200613_205333-faf03387.pth
model = dict(
    architecture=_base_.deeplabv3plus_r18,
    teacher=_base_.deeplabv3plus_r101,
    teacher_ckpt='https://download.openmmlab.com/mmsegmentation/v0.5/deeplabv3plus/deeplabv3plus_r101-d8_512x512_40k_voc12aug/deeplabv3plus_r101-d8_512x512_40k_voc12aug_20200613_205333-faf03387.pth')  # noqa: E501
