import os.path as osp
from typing import Any, Optional

import torch
from mmengine.dist import all_reduce, barrier, get_world_size, is_main_process
from mmengine.hooks import CheckpointHook, Hook
from mmengine.registry import HOOKS

from ..atomic_io import atomic_write
from ..loader_workers import restart_train_workers
from ..termination import (
    SECOND_SIGTERM_AFTER_S,
    TrainingPreempted,
    forwarded_requests,
    install_termination_handler,
    termination_handler_installed,
    termination_owner,
    termination_requested,
    uninstall_termination_handler,
)


@HOOKS.register_module()
class PreemptionHook(Hook):
    """Checkpoint at the current iteration after SIGTERM, then stop.

    SIGTERM is what slurm sends before it preempts or requeues a job.  With
    this hook the run saves a checkpoint at the end of the iteration in
    progress and stops with :class:`~mmtat.engine.termination.
    TrainingPreempted`; the same command with ``--resume`` continues from
    it.  A SIGTERM during the last iteration lets the run finish.

    It runs after every other ``after_train_iter`` hook (so after the
    ``CheckpointHook``, whose file it reuses when that one just saved).  In
    a distributed run the ranks agree on the request (a one-element
    all-reduce per iteration), so all of them stop after the same
    iteration, whichever of them got the signal; rank 0 writes the
    checkpoint and every rank waits for it to be complete before it stops
    (so that srun's ``--kill-on-bad-exit`` cannot cut the write short).
    Under torchrun this must end within the agent's shutdown timeout
    (``TORCH_ELASTIC_SHUTDOWN_TIMEOUT``, 30 s by default), after which it
    kills the workers.

    The SIGTERM handler (:func:`~mmtat.engine.termination.
    install_termination_handler`) must be in place before the data loader
    workers are forked, which inherit a guard against the job-wide SIGTERM
    that slurm also sends them.  mmtat's ``tools/train.py`` installs it
    when it starts.  Built from a config's ``custom_hooks`` alone (e.g.
    under MMSegmentation's ``tools/train.py``), the hook installs it in
    ``before_train``: only a training run turns SIGTERM into a checkpoint,
    a test run keeps the default action.  ``before_run`` would be no
    earlier for this purpose: an ``IterBasedTrainLoop`` starts its loader's
    workers when the runner builds it, before any hook is called, so in
    ``before_train_epoch`` the hook starts them again
    (:func:`~mmtat.engine.loader_workers.restart_train_workers`; the run
    reads the same batches).  A handler the hook installed is removed in
    ``after_run``.
    """
    priority = 'LOWEST'

    def __init__(self) -> None:
        self._restart_workers = False

    def before_train(self, runner: Any) -> None:
        if termination_handler_installed() and termination_owner() is None:
            return  # installed by the tool, before anything was built
        # not installed, or by the hook of an earlier run in this process,
        # whose request (if any) has been acted on
        install_termination_handler(owner=self)
        self._restart_workers = True

    def before_train_epoch(self, runner: Any) -> None:
        if self._restart_workers:
            self._restart_workers = False
            restart_train_workers(runner)

    def after_run(self, runner: Any) -> None:
        if termination_handler_installed() and termination_owner() is self:
            uninstall_termination_handler()

    def _requested(self) -> bool:
        flag = termination_requested()
        if get_world_size() > 1:
            tensor = torch.tensor([int(flag)])
            all_reduce(tensor, op='max')
            flag = bool(tensor.item())
        return flag

    def after_train_iter(self, runner: Any, batch_idx: int,
                         data_batch: Any = None,
                         outputs: Any = None) -> None:
        if not self._requested():
            return
        iteration = runner.iter + 1
        if iteration >= runner.max_iters:
            return  # the run ends now anyway, with its own last checkpoint
        repeated = forwarded_requests()
        runner.logger.warning(
            f'SIGTERM: saving a checkpoint of iteration {iteration}, then '
            'stopping' + (f' ({repeated} more SIGTERM within '
                          f'{SECOND_SIGTERM_AFTER_S:g} s: the same request, '
                          'forwarded)' if repeated else '') + '.')
        path = self._save(runner, iteration)
        barrier()
        raise TrainingPreempted(iteration, path)

    def _save(self, runner: Any, iteration: int) -> Optional[str]:
        ckpt_hook = next(
            (h for h in runner.hooks if isinstance(h, CheckpointHook)), None)
        out_dir = getattr(ckpt_hook, 'out_dir', None) or runner.work_dir
        backend_args = getattr(ckpt_hook, 'backend_args', None)
        filename = f'iter_{iteration}.pth'
        path = osp.join(out_dir, filename)
        if getattr(ckpt_hook, 'last_ckpt', None) == path:
            return path  # the CheckpointHook saved this iteration already
        runner.save_checkpoint(
            out_dir,
            filename,
            save_optimizer=getattr(ckpt_hook, 'save_optimizer', True),
            save_param_scheduler=getattr(ckpt_hook, 'save_param_scheduler',
                                         True),
            meta=dict(epoch=runner.epoch, iter=iteration),
            by_epoch=False,
            backend_args=backend_args)
        if is_main_process():
            atomic_write(
                osp.join(runner.work_dir, 'last_checkpoint'), path.encode())
        return path
