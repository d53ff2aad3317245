"""Run-time wiring of mmtat's tools: atomic checkpoint files and the hooks
every run gets (SIGTERM checkpoint, empty-dataset guard, checkpoint fit,
resume fit, teacher weights, data sample checks)."""
from .atomic_io import (
                        ATOMIC_BACKEND,
                        AtomicLocalBackend,
                        atomic_write,
                        remove_partial_files,
                        use_atomic_checkpoints,
)
from .data_guard import (
    DataGuardHook,
    GuardedLoading,
    check_data_command,
    guard_dataloader,
)
from .hooks import (
                        CheckpointFitHook,
                        NonEmptyDataHook,
                        PreemptionHook,
                        ResumeFitHook,
                        TrainingPreempted,
                        checkpoint_fit_problems,
                        checkpoint_run_name,
                        install_termination_handler,
                        termination_requested,
                        uninstall_termination_handler,
)
from .teacher_check import (
    TEACHER_MIOU_WARN_RATIO,
    TeacherCheckpointHook,
    TeacherMIoUHook,
    TeacherWeights,
    teacher_fit_problems,
    teacher_weight_sources,
)

__all__ = [
    'ATOMIC_BACKEND', 'AtomicLocalBackend', 'atomic_write',
    'remove_partial_files', 'use_atomic_checkpoints', 'CheckpointFitHook',
    'NonEmptyDataHook', 'PreemptionHook', 'ResumeFitHook',
    'TrainingPreempted', 'checkpoint_run_name',
    'checkpoint_fit_problems', 'install_termination_handler',
    'termination_requested', 'uninstall_termination_handler',
    'TEACHER_MIOU_WARN_RATIO', 'TeacherCheckpointHook', 'TeacherMIoUHook',
    'TeacherWeights', 'teacher_fit_problems', 'teacher_weight_sources',
    'DataGuardHook', 'GuardedLoading', 'check_data_command',
    'guard_dataloader'
]
