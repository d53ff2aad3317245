from typing import Any, Optional

from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from ..work_dir_lock import WorkDirLock, held_by_this_process

__all__ = ['WorkDirLockHook']


@HOOKS.register_module()
class WorkDirLockHook(Hook):
    """One training run per work dir, whoever starts the run.

    mmtat's ``tools/train.py`` holds the work dir's lock
    (:class:`~mmtat.engine.work_dir_lock.WorkDirLock`) before it builds
    anything; a run started otherwise (MMSegmentation's or MMPretrain's
    ``tools/train.py``, ``Runner.from_cfg``) takes it here, in
    ``before_train``: after the runner is built and a checkpoint is
    resumed, before the first iteration and the first checkpoint written.
    A live run holding the work dir stops this one with
    :class:`~mmtat.engine.work_dir_lock.WorkDirInUse`, naming that run.

    Rank 0 holds the lock for the run; the other ranks do nothing. A
    process that holds the lock already (mmtat's ``tools/train.py``) is not
    asked again. The lock is given up after training, and by the operating
    system whenever the process ends.
    """
    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._lock: Optional[WorkDirLock] = None

    def before_train(self, runner: Any) -> None:
        if runner.rank != 0 or held_by_this_process(runner.work_dir):
            return
        lock = WorkDirLock(runner.work_dir)
        lock.acquire()
        self._lock = lock

    def after_train(self, runner: Any) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()
