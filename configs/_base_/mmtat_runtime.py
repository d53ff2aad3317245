# What every shipped config adds to MMSegmentation's runtime: mmtat itself
# and its hooks.  The distillation model bases and the student and teacher
# baselines take this file as a base (mmengine refuses a key that two bases
# of one config define, so no other base sets these two).

# ``import mmtat`` applies mmtat.compat (it must precede the first import of
# MMRazor), registers TaTDistiller, TaTLoss, CamVidDataset and the hooks
# below.
custom_imports = dict(imports=['mmtat'], allow_failed_imports=False)

# Listed here, not only added by mmtat's tools/train.py and tools/test.py,
# so that a run started by MMSegmentation's own tools/train.py or
# tools/test.py (or any Runner.from_cfg) gets them too; mmtat's tools add
# none of them a second time.  Each needs no arguments and does nothing
# where it does not apply (a model without a teacher, a run that does not
# resume, a test run for the training hooks).
custom_hooks = [
    # one training run per work dir: a live run holding it stops this one
    # before its first iteration (mmtat's tools/train.py holds it earlier)
    dict(type='WorkDirLockHook'),
    # SIGTERM (slurm's notice before preemption): checkpoint, then stop
    dict(type='PreemptionHook'),
    # a NaN or infinite loss stops the run before anything of it is saved
    # (allow_nonfinite=True: train on, as mmengine does)
    dict(type='FiniteLossHook'),
    # an empty dataset stops the run instead of waiting for a first batch
    dict(type='NonEmptyDataHook'),
    # an unreadable sample or a label that is no class stops the run
    # naming the file
    dict(type='DataGuardHook'),
    # checkpoints leave a frozen teacher out (it comes from teacher_ckpt,
    # whose file they record); keep_teacher=True keeps it in
    dict(type='FrozenTeacherCheckpointHook'),
    # resume=True with another config's checkpoint is refused
    dict(type='ResumeFitHook'),
    # a test checkpoint that does not fit the evaluated model is refused
    dict(type='CheckpointFitHook'),
    # a teacher checkpoint that does not fit the teacher is refused
    dict(type='TeacherCheckpointHook'),
    # the teacher's first validation mIoU (top-1) is logged next to the
    # published one
    dict(type='TeacherMetricHook'),
]
