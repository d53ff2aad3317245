# Shared model of every DeepLabV3 R101-D8 -> R18-D8 distillation in mmtat:
# MMRazor's algorithm with the two networks of ./networks/deeplabv3.py.
#
# This file holds no dataset, schedule or runtime (mmengine refuses keys
# defined by two bases of one config).  A distillation config inherits one
# of the dataset variants (``deeplabv3_r101_r18_distill_{voc,cocostuff10k,
# cityscapes,camvid,ade20k}.py``, which add the dataset, schedule and
# runtime, the class count and the teacher checkpoint; the DeepLabV3+ and
# SegFormer variants put their networks in place) and sets only
# ``model.distiller``.  TaT, KD, CWD, DIST, FitNets, AT and MGD differ in
# nothing else.

# custom_imports (``import mmtat``: mmtat.compat before MMRazor, TaTDistiller
# and TaTLoss registered) and mmtat's custom_hooks, which MMSegmentation's
# own tools/train.py builds too; the networks
_base_ = ['./mmtat_runtime.py', './networks/deeplabv3.py']

# SingleTeacherDistill pre-processes a batch once and feeds it to both
# networks, so the pre-processor belongs to the algorithm (MMRazor's
# BaseAlgorithm); SingleTeacherDistillValLoop hands the same one to the
# teacher for its validation.  Student and teacher keep MMSegmentation's
# normalisation, so one pre-processor fits both.
data_preprocessor = dict(
    type='mmseg.SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)  # ``size`` (the crop) is set by the dataset variant

model = dict(
    _scope_='mmrazor',
    # mmtat's MMRazor SingleTeacherDistill (mmtat.models.algorithms): the
    # frozen teacher computes only what the distiller records, and the crop
    # is handed to a distiller that needs it (TaTDistiller's shape pass).
    type='LeanSingleTeacherDistill',
    data_preprocessor=data_preprocessor,
    # Student: MMSegmentation's deeplabv3_r18-d8
    architecture=_base_.deeplabv3_r18,
    # Teacher: MMSegmentation's deeplabv3_r101-d8; its weights come from
    # ``teacher_ckpt`` (set by the dataset variant), which also makes
    # ``teacher.pretrained`` unused whenever ``teacher_ckpt`` is set.
    teacher=_base_.deeplabv3_r101,
    teacher_ckpt=None,  # set by the dataset variant
    # The teacher is frozen (requires_grad=False) with its BN layers in eval
    # mode (MMRazor's defaults): it computes the features its published mIoU
    # was measured with, whatever the batch.  The authors' release runs its
    # teacher in train mode (batch statistics, running ones updated); the
    # *_release.py configs do that with teacher_norm_eval=False
    # (docs/en/hyperparameters.md, "Teacher normalisation").
    teacher_trainable=False,
    teacher_norm_eval=True,
    # No auxiliary head, loss or logits upsampling in the teacher's pass,
    # which stops after the last recorded module; False runs MMRazor's
    # teacher(..., mode='loss').  Both networks in the channels-last memory
    # layout (faster on CPUs; losses equal up to float32 rounding).
    lean_teacher=True,
    teacher_channels_last=True,
    student_channels_last=True)
