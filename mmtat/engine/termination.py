"""SIGTERM as a request to checkpoint and stop, not as the end.

slurm sends SIGTERM before it preempts or requeues a job; torchrun's agent
and srun forward it to every worker.  :func:`install_termination_handler`
turns it into a flag that :class:`~mmtat.engine.hooks.PreemptionHook`
reads after each iteration; the hook then saves a checkpoint and raises
:class:`TrainingPreempted`.
"""
import os
import signal
import threading
import time
from typing import Any, Dict, Optional

__all__ = [
    'SECOND_SIGTERM_AFTER_S', 'TrainingPreempted',
    'install_termination_handler', 'uninstall_termination_handler',
    'termination_requested', 'termination_handler_installed',
    'forwarded_requests'
]

#: A SIGTERM that comes this many seconds or more after the first one is a
#: deliberate second request (e.g. a user's second ``kill``) and ends the
#: process at once.  One sooner is the same request once more: slurm and
#: ``kill -- -PGID`` signal every process of a job, and torchrun's agent (or
#: srun) then forwards the SIGTERM it got to each worker, milliseconds later.
SECOND_SIGTERM_AFTER_S = 5.0

_TERMINATION: Dict[str, Any] = {
    'signum': None, 'active': False, 'first': 0.0, 'repeated': 0,
    'owner': None, 'previous': signal.SIG_DFL
}
_AT_FORK: Dict[str, bool] = {'registered': False}


def _end_now(signum: int) -> None:
    # the default action: the process ends as killed by the signal
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _on_termination(signum: int, frame: Any) -> None:
    now = time.monotonic()
    if _TERMINATION['signum'] is None:
        _TERMINATION['signum'] = signum
        _TERMINATION['first'] = now
    elif now - _TERMINATION['first'] >= SECOND_SIGTERM_AFTER_S:
        _end_now(signum)
    else:
        # a launcher forwarding the job's SIGTERM: already being acted on
        _TERMINATION['repeated'] += 1


def _wait_for_parent_termination(parent: int) -> None:
    while True:
        info = signal.sigwaitinfo({signal.SIGTERM})
        if info.si_pid == parent:
            # the trainer stops its worker (what torch's own handler does)
            os._exit(0)


def _shield_child_from_termination() -> None:
    # slurm signals every process of the job.  A data loader worker dies of
    # SIGTERM (torch installs a handler in it that re-raises it), and the
    # trainer then fails on its next batch, or in a DDP run waits for the
    # other ranks, before it can save.  In a forked child SIGTERM is
    # blocked and taken by a thread instead: from the parent (the trainer
    # shutting its workers down) it ends the child, from anyone else it is
    # dropped, so the worker serves batches until the checkpoint is written.
    if not _TERMINATION['active']:
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    threading.Thread(target=_wait_for_parent_termination,
                     args=(os.getppid(), ), daemon=True).start()


def install_termination_handler(owner: Optional[object] = None) -> None:
    """Turn SIGTERM into a request that :class:`PreemptionHook` acts on.

    Further SIGTERMs within :data:`SECOND_SIGTERM_AFTER_S` seconds of the
    first are the same request forwarded by a launcher and change nothing;
    a later one ends the process at once.  Processes forked from here on
    (data loader workers) ignore a SIGTERM that does not come from this
    process, so that they keep serving batches until the checkpoint is
    written.  Call it before any data loader starts its workers.

    Args:
        owner: what installed it, when not the process's tool itself (a
            :class:`~mmtat.engine.hooks.PreemptionHook` built from a
            config's ``custom_hooks``); see
            :func:`termination_handler_installed`.
    """
    current = signal.getsignal(signal.SIGTERM)
    if current is not _on_termination:
        _TERMINATION['previous'] = current
    _TERMINATION['signum'] = None
    _TERMINATION['repeated'] = 0
    _TERMINATION['active'] = True
    _TERMINATION['owner'] = owner
    signal.signal(signal.SIGTERM, _on_termination)
    if not _AT_FORK['registered']:
        os.register_at_fork(after_in_child=_shield_child_from_termination)
        _AT_FORK['registered'] = True


def uninstall_termination_handler() -> None:
    """Give SIGTERM the action it had before
    :func:`install_termination_handler` (tests, embedding)."""
    previous = _TERMINATION['previous']
    _TERMINATION['signum'] = None
    _TERMINATION['active'] = False
    _TERMINATION['owner'] = None
    _TERMINATION['previous'] = signal.SIG_DFL
    signal.signal(signal.SIGTERM,
                  signal.SIG_DFL if previous is None else previous)


def termination_handler_installed(owner: Optional[object] = None) -> bool:
    """Whether SIGTERM is handled here, installed by ``owner`` (any
    owner, when None)."""
    if not _TERMINATION['active'] or (signal.getsignal(signal.SIGTERM)
                                      is not _on_termination):
        return False
    return owner is None or _TERMINATION['owner'] is owner


def termination_owner() -> Optional[object]:
    """What installed the handler (None: the tool of this process)."""
    return _TERMINATION['owner'] if _TERMINATION['active'] else None


def termination_requested() -> bool:
    return _TERMINATION['signum'] is not None


def forwarded_requests() -> int:
    """SIGTERMs that came within :data:`SECOND_SIGTERM_AFTER_S` of the
    first (the same request, forwarded by a launcher)."""
    return _TERMINATION['repeated']


class TrainingPreempted(Exception):
    """Training stopped after SIGTERM; ``checkpoint`` holds its state."""

    def __init__(self, iteration: int, checkpoint: Optional[str]) -> None:
        self.iteration = iteration
        self.checkpoint = checkpoint
        super().__init__(
            f'training stopped by SIGTERM after iteration {iteration}; '
            f'checkpoint: {checkpoint}')
