"""Run-time wiring of mmtat's tools: atomic checkpoint files and the hooks
every run gets (SIGTERM checkpoint, empty-dataset guard, checkpoint fit)."""
from .atomic_io import (
                        ATOMIC_BACKEND,
                        AtomicLocalBackend,
                        atomic_write,
                        remove_partial_files,
                        use_atomic_checkpoints,
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

__all__ = [
    'ATOMIC_BACKEND', 'AtomicLocalBackend', 'atomic_write',
    'remove_partial_files', 'use_atomic_checkpoints', 'CheckpointFitHook',
    'NonEmptyDataHook', 'PreemptionHook', 'ResumeFitHook',
    'TrainingPreempted', 'checkpoint_run_name',
    'checkpoint_fit_problems', 'install_termination_handler',
    'termination_requested', 'uninstall_termination_handler'
]
