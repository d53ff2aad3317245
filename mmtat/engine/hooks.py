"""Hooks that ``mmtat.tools`` add to every run (no config entry needed).

* :class:`PreemptionHook`: after SIGTERM (what slurm sends before it
  preempts or requeues a job) the run saves a checkpoint at the end of the
  current iteration and stops with :class:`TrainingPreempted`.
* :class:`NonEmptyDataHook`: a dataset of 0 samples stops the run before
  the first batch is requested (an ``InfiniteSampler`` over nothing never
  returns).
* :class:`CheckpointFitHook`: ``tools/test.py`` refuses a checkpoint whose
  weights do not fit the evaluated model, instead of evaluating randomly
  initialised layers (mmengine loads with ``strict=False`` and only warns).
* :class:`ResumeFitHook`: ``tools/train.py --resume`` refuses a checkpoint
  written by a run of another config, instead of failing in the optimizer's
  ``load_state_dict`` (or training on with half of the weights restored).
"""
import os
import os.path as osp
import re
import signal
import threading
import time
from typing import Any, Dict, List, Optional

import torch
from mmengine.dist import all_reduce, barrier, get_world_size, is_main_process
from mmengine.hooks import CheckpointHook, Hook
from mmengine.model import is_model_wrapper

from ..utils.errors import InputError, RunRefused
from .atomic_io import atomic_write

__all__ = [
    'PreemptionHook', 'TrainingPreempted', 'install_termination_handler',
    'uninstall_termination_handler', 'termination_requested',
    'NonEmptyDataHook', 'CheckpointFitHook', 'ResumeFitHook',
    'checkpoint_fit_problems'
]

# --------------------------------------------------------------------------
# SIGTERM -> checkpoint and stop
# --------------------------------------------------------------------------
#: A SIGTERM that comes this many seconds or more after the first one is a
#: deliberate second request (e.g. a user's second ``kill``) and ends the
#: process at once.  One sooner is the same request once more: slurm and
#: ``kill -- -PGID`` signal every process of a job, and torchrun's agent (or
#: srun) then forwards the SIGTERM it got to each worker, milliseconds later.
SECOND_SIGTERM_AFTER_S = 5.0

_TERMINATION: Dict[str, Any] = {
    'signum': None, 'active': False, 'first': 0.0, 'repeated': 0
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


def install_termination_handler() -> None:
    """Turn SIGTERM into a request that :class:`PreemptionHook` acts on.

    Further SIGTERMs within :data:`SECOND_SIGTERM_AFTER_S` seconds of the
    first are the same request forwarded by a launcher and change nothing;
    a later one ends the process at once.  Processes forked from here on
    (data loader workers) ignore a SIGTERM that does not come from this
    process, so that they keep serving batches until the checkpoint is
    written.  Call it before any data loader starts its workers.
    """
    _TERMINATION['signum'] = None
    _TERMINATION['repeated'] = 0
    _TERMINATION['active'] = True
    signal.signal(signal.SIGTERM, _on_termination)
    if not _AT_FORK['registered']:
        os.register_at_fork(after_in_child=_shield_child_from_termination)
        _AT_FORK['registered'] = True


def uninstall_termination_handler() -> None:
    """Give SIGTERM its default action back (tests, embedding)."""
    _TERMINATION['signum'] = None
    _TERMINATION['active'] = False
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def termination_requested() -> bool:
    return _TERMINATION['signum'] is not None


class TrainingPreempted(Exception):
    """Training stopped after SIGTERM; ``checkpoint`` holds its state."""

    def __init__(self, iteration: int, checkpoint: Optional[str]) -> None:
        self.iteration = iteration
        self.checkpoint = checkpoint
        super().__init__(
            f'training stopped by SIGTERM after iteration {iteration}; '
            f'checkpoint: {checkpoint}')


class PreemptionHook(Hook):
    """Checkpoint at the current iteration after SIGTERM, then stop.

    Runs after every other ``after_train_iter`` hook (so after the
    ``CheckpointHook``, whose file it reuses when that one just saved).  In
    a distributed run the ranks agree on the request (a one-element
    all-reduce per iteration), so all of them stop after the same
    iteration, whichever of them got the signal; rank 0 writes the
    checkpoint and every rank waits for it to be complete before it stops
    (so that srun's ``--kill-on-bad-exit`` cannot cut the write short).
    Under torchrun this must end within the agent's shutdown timeout
    (``TORCH_ELASTIC_SHUTDOWN_TIMEOUT``, 30 s by default), after which it
    kills the workers.
    """
    priority = 'LOWEST'

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
        repeated = _TERMINATION['repeated']
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


# --------------------------------------------------------------------------
# datasets of 0 samples
# --------------------------------------------------------------------------
def _empty_message(role: str, loader_key: str, dataset: Any) -> str:
    root = getattr(dataset, 'data_root', None)
    return (f'The {role} dataset ({type(dataset).__name__}, {loader_key}, '
            f'data_root={root!r}) has 0 samples, so the run would wait '
            'forever for its first batch. Check data_root, data_prefix and '
            'ann_file of that dataset (and the image suffix its class '
            'expects). Nothing was trained.')


class NonEmptyDataHook(Hook):
    """Stop a run whose training, validation or test dataset is empty."""
    priority = 'VERY_HIGH'

    def before_train(self, runner: Any) -> None:
        dataset = runner.train_dataloader.dataset
        if len(dataset) == 0:
            raise InputError(
                _empty_message('training', 'train_dataloader', dataset))
        val_loop = runner._val_loop
        if val_loop is not None and hasattr(val_loop, 'dataloader'):
            dataset = val_loop.dataloader.dataset
            if len(dataset) == 0:
                raise InputError(
                    _empty_message('validation', 'val_dataloader', dataset))

    def before_test(self, runner: Any) -> None:
        dataset = runner.test_dataloader.dataset
        if len(dataset) == 0:
            raise InputError(
                _empty_message('test', 'test_dataloader', dataset))


# --------------------------------------------------------------------------
# a checkpoint that does not fit the evaluated model
# --------------------------------------------------------------------------
#: Unexpected tensors tolerated (a fraction of the checkpoint's): extra
#: weights, e.g. an auxiliary head the test config drops, change no
#: prediction; many of them mean the checkpoint is another model's.
UNEXPECTED_TOLERANCE = 0.01
_IGNORED = re.compile(r'(^|\.)num_batches_tracked$')
_EXAMPLES = 3


def _evaluated_prefix(model: Any) -> str:
    # An MMRazor distillation algorithm predicts with its student
    # (``architecture``); its teacher comes from ``teacher_ckpt``.
    if hasattr(model, 'architecture') and hasattr(model, 'teacher'):
        return 'architecture.'
    return ''


def checkpoint_fit_problems(model: Any,
                            checkpoint: Dict[str, Any],
                            prefix: Optional[str] = None) -> Dict[str, List]:
    """Compare a checkpoint's tensors with a model's.

    Args:
        prefix: the weights that must be in the checkpoint, by key prefix;
            by default those an evaluation uses (a distillation algorithm's
            student), ``''`` for all of them.

    Returns:
        ``missing`` (weights the evaluation uses that the checkpoint lacks),
        ``mismatched`` (``(key, model shape, checkpoint shape)``) and
        ``unexpected`` (checkpoint tensors that fit no weight), BN counters
        (``num_batches_tracked``) left out.
    """
    if is_model_wrapper(model):
        model = model.module
    state = checkpoint.get('state_dict', checkpoint)
    # mmengine's loader strips a DDP prefix the same way
    ckpt = {
        re.sub(r'^module\.', '', k): v
        for k, v in state.items() if isinstance(k, str)
        and torch.is_tensor(v) and not _IGNORED.search(k)
    }
    own = {
        k: v
        for k, v in model.state_dict().items() if not _IGNORED.search(k)
    }
    if prefix is None:
        prefix = _evaluated_prefix(model)
    missing = [k for k in own if k.startswith(prefix) and k not in ckpt]
    mismatched = [(k, tuple(own[k].shape), tuple(ckpt[k].shape))
                  for k in own
                  if k.startswith(prefix) and k in ckpt
                  and own[k].shape != ckpt[k].shape]
    unexpected = [k for k in ckpt if k not in own]
    return dict(missing=missing, mismatched=mismatched,
                unexpected=unexpected, evaluated=[
                    k for k in own if k.startswith(prefix)
                ], checkpoint=list(ckpt))


def format_examples(keys: List[Any]) -> str:
    shown = ', '.join(
        f'{k[0]} (model {k[1]}, checkpoint {k[2]})' if isinstance(k, tuple)
        else k for k in keys[:_EXAMPLES])
    return shown + (', ...' if len(keys) > _EXAMPLES else '')


def misfit_parts(found: Dict[str, List], weights: str,
                 owner: str) -> List[str]:
    """The clauses that describe what :func:`checkpoint_fit_problems`
    found: ``'N of the M <weights> are not in it (e.g. ...)'``, ``'N have
    another shape (...)'``, ``'N of its T tensors belong to no <owner>
    (...)'``, for those that apply."""
    parts = []
    if found['missing']:
        parts.append(f'{len(found["missing"])} of the '
                     f'{len(found["evaluated"])} {weights} are not in it '
                     f'(e.g. {format_examples(found["missing"])})')
    if found['mismatched']:
        parts.append(f'{len(found["mismatched"])} have another shape (e.g. '
                     f'{format_examples(found["mismatched"])})')
    if found['unexpected']:
        parts.append(f'{len(found["unexpected"])} of its '
                     f'{len(found["checkpoint"])} tensors belong to no '
                     f'{owner} (e.g. {format_examples(found["unexpected"])})')
    return parts


class CheckpointFitHook(Hook):
    """Refuse, before evaluating, a checkpoint that does not fit the model.

    Args:
        checkpoint_name: how the user named the checkpoint (for messages).
        allow_partial: only warn (``--allow-partial-checkpoint``).
    """
    priority = 'VERY_HIGH'

    def __init__(self, checkpoint_name: str,
                 allow_partial: bool = False) -> None:
        self.checkpoint_name = checkpoint_name
        self.allow_partial = allow_partial

    def after_load_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        found = checkpoint_fit_problems(runner.model, checkpoint)
        missing, mismatched = found['missing'], found['mismatched']
        unexpected = found['unexpected']
        limit = UNEXPECTED_TOLERANCE * max(len(found['checkpoint']), 1)
        if not missing and not mismatched and len(unexpected) <= limit:
            return
        parts = misfit_parts(found, 'weights the evaluation uses',
                             'weight of the model')
        text = (f'The checkpoint {self.checkpoint_name} does not fit the '
                'model of this config: ' + '; '.join(parts) + '. ')
        text += self._hint(runner.model, found)
        if self.allow_partial:
            runner.logger.warning(text + ' Evaluating anyway '
                                  '(--allow-partial-checkpoint).')
            return
        if missing or mismatched:
            text += (' Evaluating it would score randomly initialised '
                     'weights, so nothing was evaluated.')
        else:
            text += (' So many extra tensors mean it is probably not this '
                     'model\'s checkpoint; nothing was evaluated.')
        raise RunRefused(
            text + ' To load it partially on purpose, add '
            '--allow-partial-checkpoint.')

    @staticmethod
    def _hint(model: Any, found: Dict[str, List]) -> str:
        if is_model_wrapper(model):
            model = model.module
        ckpt_keys = found['checkpoint']
        distill_ckpt = any(k.startswith('architecture.') for k in ckpt_keys)
        if _evaluated_prefix(model) and not distill_ckpt:
            return ('It looks like a plain (student) checkpoint and the '
                    'config is a distillation config: evaluate it with the '
                    'student\'s own config (e.g. '
                    'configs/baselines/deeplabv3_r18_voc.py for the VOC '
                    'TaT student).')
        if not _evaluated_prefix(model) and distill_ckpt:
            return ('It looks like a distillation checkpoint (student under '
                    'architecture.*) and the config is a plain one: extract '
                    'the student with tools/convert_student.py CKPT '
                    'student.pth and evaluate that, or evaluate with the '
                    'distillation config it was trained with.')
        return ('Check that the config is the one the checkpoint was trained '
                'with (classes, backbone depth, heads).')


# --------------------------------------------------------------------------
# --resume of a checkpoint written for another config
# --------------------------------------------------------------------------
_TIMESTAMP = re.compile(r'_\d{8}_\d{6}$')


def checkpoint_run_name(checkpoint: Dict[str, Any]) -> Optional[str]:
    """The config name of the run that wrote ``checkpoint`` (mmengine's
    ``meta.experiment_name`` is ``<config name>_<timestamp>``)."""
    name = (checkpoint.get('meta') or {}).get('experiment_name')
    if not isinstance(name, str) or not name:
        return None
    return _TIMESTAMP.sub('', name)


def _optimizer_groups(state: Any) -> Optional[List[int]]:
    """Parameters per group of an optimizer state dict (None if it is not
    one, e.g. the dict of an ``OptimWrapperDict``)."""
    if not isinstance(state, dict) or not isinstance(
            state.get('param_groups'), list):
        return None
    return [len(group.get('params', ())) for group in state['param_groups']]


class ResumeFitHook(Hook):
    """Refuse to resume from a checkpoint of another config.

    Resuming restores the model's weights, the optimizer's state and the
    schedules.  A checkpoint of another config (a CWD run's work dir
    resumed with the TaT config, another class count) has other weights,
    which mmengine would skip with a warning, and another optimizer state,
    on which torch's ``load_state_dict`` fails with a traceback.  Before
    either is loaded, this hook compares the checkpoint's tensors with every
    weight of the model and its optimizer state's parameter groups with the
    config's optimizer, and names both configs.

    Args:
        checkpoint_name: the checkpoint, as the run found or was given it.
        config_name: the config of this run.
    """
    priority = 'VERY_HIGH'

    def __init__(self, checkpoint_name: str, config_name: str) -> None:
        self.checkpoint_name = checkpoint_name
        self.config_name = config_name

    def after_load_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        found = checkpoint_fit_problems(runner.model, checkpoint, prefix='')
        parts = misfit_parts(found, 'weights of this config\'s model',
                             'weight of this model')
        optimizer = getattr(getattr(runner, 'optim_wrapper', None),
                            'optimizer', None)
        saved = _optimizer_groups(checkpoint.get('optimizer'))
        if optimizer is not None and saved is not None:
            own = [len(g['params']) for g in optimizer.param_groups]
            if own != saved:
                parts.append('its optimizer state has parameter groups of '
                             f'{saved} parameters, this config\'s optimizer '
                             f'groups of {own}')
        if not parts:
            return
        run = checkpoint_run_name(checkpoint)
        written = (f'a run of {run}' if run else
                   'a run whose config it does not record')
        raise RunRefused(
            f'--resume: the checkpoint {self.checkpoint_name} was written by '
            f'{written}, not for this config ({self.config_name}): '
            + '; '.join(parts) + '. Nothing was trained. Resume it with the '
            'config that wrote it, give this config a work dir of its own '
            '(--work-dir), or start it without --resume; to start this '
            'model from the checkpoint\'s fitting weights (iteration 0, a '
            'new optimizer) use --cfg-options load_from=' +
            self.checkpoint_name + ' instead of --resume.')
