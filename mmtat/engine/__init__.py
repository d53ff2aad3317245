"""Run-time wiring: atomic checkpoint files, SIGTERM as a request to
checkpoint and stop, the guarded loading of samples, and the hooks of
:mod:`mmtat.engine.hooks` (registered in mmengine's ``HOOKS`` when this
package is imported, which ``import mmtat`` does)."""
from .atomic_io import (
                        ATOMIC_BACKEND,
                        AtomicLocalBackend,
                        atomic_write,
                        remove_partial_files,
                        use_atomic_checkpoints,
)
from .data_guard import GuardedLoading, check_data_command, guard_dataloader
from .hooks import (
                        TEACHER_METRIC_WARN_RATIO,
                        CheckpointFitHook,
                        DataGuardHook,
                        FiniteLossHook,
                        FrozenTeacherCheckpointHook,
                        NonEmptyDataHook,
                        PreemptionHook,
                        ResumeFitHook,
                        TeacherCheckpointHook,
                        TeacherMetricHook,
                        TeacherMIoUHook,
                        TrainingDiverged,
)
from .loader_workers import restart_train_workers
from .termination import (
                        SECOND_SIGTERM_AFTER_S,
                        TrainingPreempted,
                        install_termination_handler,
                        termination_requested,
                        uninstall_termination_handler,
)

__all__ = [
    'ATOMIC_BACKEND', 'AtomicLocalBackend', 'atomic_write',
    'remove_partial_files', 'use_atomic_checkpoints', 'GuardedLoading',
    'check_data_command', 'guard_dataloader', 'CheckpointFitHook',
    'DataGuardHook', 'FiniteLossHook', 'TrainingDiverged',
    'FrozenTeacherCheckpointHook',
    'NonEmptyDataHook', 'PreemptionHook', 'ResumeFitHook',
    'TeacherCheckpointHook', 'TeacherMetricHook', 'TeacherMIoUHook',
    'TEACHER_METRIC_WARN_RATIO',
    'restart_train_workers', 'SECOND_SIGTERM_AFTER_S', 'TrainingPreempted',
    'install_termination_handler', 'termination_requested',
    'uninstall_termination_handler'
]
