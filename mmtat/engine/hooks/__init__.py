"""mmtat's hooks, registered in mmengine's root ``HOOKS`` registry so that
a config's ``custom_hooks`` finds them in every scope (``mmseg``,
``mmrazor``, ...) once ``mmtat`` is imported.

The shipped configs list them; mmtat's ``tools/train.py`` and
``tools/test.py`` add those a config does not list.
"""
from .checkpoint_fit_hook import CheckpointFitHook
from .data_guard_hook import DataGuardHook
from .finite_loss_hook import FiniteLossHook, TrainingDiverged
from .frozen_teacher_checkpoint_hook import FrozenTeacherCheckpointHook
from .non_empty_data_hook import NonEmptyDataHook
from .preemption_hook import PreemptionHook
from .resume_fit_hook import ResumeFitHook
from .teacher_checkpoint_hook import TeacherCheckpointHook
from .teacher_metric_hook import (
                                  TEACHER_METRIC_WARN_RATIO,
                                  TeacherMetricHook,
                                  TeacherMIoUHook,
)
from .work_dir_lock_hook import WorkDirLockHook

__all__ = [
    'CheckpointFitHook', 'DataGuardHook', 'FiniteLossHook',
    'FrozenTeacherCheckpointHook', 'NonEmptyDataHook',
    'PreemptionHook', 'ResumeFitHook', 'TeacherCheckpointHook',
    'TeacherMetricHook', 'TeacherMIoUHook', 'TEACHER_METRIC_WARN_RATIO',
    'TrainingDiverged', 'WorkDirLockHook'
]
