import logging
import math
import os.path as osp
from typing import Any, Dict, List, Optional, Tuple

import torch
from mmengine.dist import all_reduce, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS
from mmengine.runner import IterBasedTrainLoop

from ...checks.checkpoint_files import latest_checkpoint
from ..termination import termination_requested

__all__ = ['FiniteLossHook', 'TrainingDiverged']

_HALF = (torch.float16, torch.bfloat16)


class TrainingDiverged(Exception):
    """A loss (or a trained weight) became NaN or infinite; ``message`` is
    the paragraph that says where and what to do."""

    def __init__(self, iteration: int, message: str) -> None:
        self.iteration = iteration
        self.message = message
        super().__init__(message)


def _value(value: Any) -> Tuple[float, Optional[torch.dtype]]:
    if torch.is_tensor(value):
        return float(value.detach().float().mean()), value.dtype
    try:
        return float(value), None
    except (TypeError, ValueError):
        return 0.0, None


def _format(value: float) -> str:
    if math.isnan(value):
        return 'nan'
    if math.isinf(value):
        return 'inf' if value > 0 else '-inf'
    return f'{value:.4g}'


def _lr_text(runner: Any) -> str:
    try:
        lrs = runner.optim_wrapper.get_lr()
    except Exception:  # an optimizer wrapper without get_lr
        return 'unknown'
    parts = []
    for name, values in lrs.items():
        if name.endswith('base_lr'):
            continue
        shown = ', '.join(f'{v:.4g}' for v in sorted(set(values)))
        parts.append(shown if name == 'lr' else f'{name} {shown}')
    return '; '.join(parts) or 'unknown'


def _ranks(ranks: List[int]) -> str:
    """``rank 1``, ``ranks 0, 2``."""
    return ('rank ' if len(ranks) == 1 else 'ranks ') + ', '.join(
        map(str, ranks))


def _to_log_file(runner: Any, text: str, level: int = logging.ERROR) -> None:
    """Write ``text`` into the run's log file only (the tool prints it)."""
    logger = getattr(runner, 'logger', None)
    for handler in getattr(logger, 'handlers', []):
        if isinstance(handler, logging.FileHandler):
            record = logger.makeRecord(logger.name, level, __file__, 0, text,
                                       None, None)
            handler.handle(record)


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Stop the run at the first iteration whose loss is NaN or infinite.

    mmengine trains on when a loss becomes NaN (a learning rate or a loss
    weight far too high, a float16 overflow): every later loss is NaN, the
    checkpoints hold NaN weights and ``last_checkpoint`` names one of them.
    After each iteration (``after_train_iter``, before the logger, the
    schedulers, an EMA and the ``CheckpointHook``, which writes there) this
    hook looks at the logged losses (every term whose name holds ``loss``,
    and their total) and, where the state after the iteration may be saved
    (a checkpoint, a validation, the last iteration, a SIGTERM), at the
    trained weights; when one is not finite it
    raises :class:`TrainingDiverged`: one paragraph with the iteration, all
    loss terms and their values, the learning rate, the newest checkpoint of
    the work dir (written before, so finite) and the usual causes.  Nothing
    of the diverged state is saved.  In a distributed run the ranks agree
    (an all-reduce per iteration): all of them stop after the same
    iteration.

    With mixed precision (``AmpOptimWrapper``, ``--amp``) the dynamic loss
    scaler skips the update of an iteration whose float16 gradients
    overflowed and lowers its scale; that is not divergence.  A non-finite
    float16 loss term in an iteration whose update the scaler skipped is
    counted as such a step; a non-finite float32 term, or a non-finite
    weight, stops the run as without mixed precision.  How many updates the
    scaler skipped is logged when training ends (and said in the paragraph).

    From a config's ``custom_hooks`` it needs no arguments; mmtat's
    ``tools/train.py`` adds it to a config that does not list it.

    Args:
        allow_nonfinite: do nothing (mmengine's behaviour: train on).
    """
    priority = 'ABOVE_NORMAL'

    def __init__(self, allow_nonfinite: bool = False) -> None:
        self.allow_nonfinite = allow_nonfinite
        self._scale_before: Optional[float] = None
        self._skipped = 0
        self._updates = 0

    # ------------------------------------------------------------------
    # the loss scaler of a mixed-precision run
    # ------------------------------------------------------------------
    @staticmethod
    def _scaler(runner: Any) -> Any:
        scaler = getattr(getattr(runner, 'optim_wrapper', None),
                         'loss_scaler', None)
        return scaler if hasattr(scaler, 'get_scale') else None

    def before_train(self, runner: Any) -> None:
        self._skipped = 0
        self._updates = 0

    def before_train_iter(self, runner: Any, batch_idx: int,
                          data_batch: Any = None) -> None:
        scaler = self._scaler(runner)
        self._scale_before = (None if scaler is None else
                              float(scaler.get_scale()))

    def _step_skipped(self, runner: Any) -> bool:
        """Whether the loss scaler skipped this iteration's update (its
        scale went down)."""
        scaler = self._scaler(runner)
        if scaler is None or self._scale_before is None:
            return False
        self._updates += 1
        skipped = float(scaler.get_scale()) < self._scale_before
        self._skipped += int(skipped)
        return skipped

    def skipped_text(self, skipped: Optional[int] = None,
                     updates: Optional[int] = None) -> str:
        skipped = self._skipped if skipped is None else skipped
        updates = self._updates if updates is None else updates
        return (f'the loss scaler (mixed precision) skipped {skipped} '
                f'of {updates} updates for float16 overflow')

    def after_train(self, runner: Any) -> None:
        if self._updates:
            runner.logger.info(self.skipped_text()[0].upper() +
                               self.skipped_text()[1:] + '.')

    # ------------------------------------------------------------------
    # the check
    # ------------------------------------------------------------------
    @staticmethod
    def _loss_terms(outputs: Any) -> Dict[str, Tuple[float,
                                                     Optional[torch.dtype]]]:
        if not isinstance(outputs, dict):
            return {}
        return {
            key: _value(value)
            for key, value in outputs.items() if 'loss' in str(key)
        }

    @staticmethod
    def _nonfinite_weight(runner: Any) -> Optional[str]:
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        params = [(n, p) for n, p in model.named_parameters()
                  if p.requires_grad and p.is_floating_point()]
        if not params:
            return None
        finite = torch.stack(
            [torch.isfinite(p.detach()).all() for _, p in params]).all()
        if bool(finite):
            return None
        return next(n for n, p in params
                    if not bool(torch.isfinite(p.detach()).all()))

    def _state_kept(self, runner: Any, batch_idx: int) -> bool:
        """Whether the state after this iteration may be saved: a
        checkpoint (the CheckpointHook's, the last iteration's, after
        SIGTERM) or a validation (which may keep the best checkpoint).
        Other iterations' weights need no check: a non-finite weight makes
        the next loss non-finite."""
        iteration = runner.iter + 1
        if termination_requested() or iteration >= runner.max_iters:
            return True
        for hook in runner.hooks:
            if not isinstance(hook, CheckpointHook):
                continue
            if hook.by_epoch:
                if hook.end_of_epoch(runner.train_dataloader, batch_idx):
                    return True
            elif hook.every_n_train_iters(runner, hook.interval,
                                          hook.save_begin) or (
                                              hook.save_last and
                                              hook.is_last_train_iter(runner)):
                return True
        loop = getattr(runner, '_train_loop', None)
        if not isinstance(loop, IterBasedTrainLoop):
            # an epoch-based loop validates at the end of an epoch
            return self.end_of_epoch(runner.train_dataloader, batch_idx)
        interval = getattr(loop, 'val_interval', None)
        return (isinstance(interval, int) and interval > 0
                and iteration % interval == 0)

    def after_train_iter(self, runner: Any, batch_idx: int,
                         data_batch: Any = None,
                         outputs: Any = None) -> None:
        if self.allow_nonfinite:
            return
        terms = self._loss_terms(outputs)
        skipped = self._step_skipped(runner)
        bad = [k for k, (v, _) in terms.items() if not math.isfinite(v)]
        if skipped and bad:
            # a float16 overflow that the scaler dealt with (the weights are
            # as before this iteration), unless a float32 term is non-finite
            # (the total is the sum of the terms)
            parts = [k for k in bad if k != 'loss'] or bad
            if all(terms[k][1] in _HALF for k in parts):
                bad = []
        weight = None if bad or not self._state_kept(
            runner, batch_idx) else self._nonfinite_weight(runner)
        local = bool(bad) or weight is not None
        world = get_world_size()
        ranks = [get_rank()] if local else []
        if world > 1:
            flags = torch.zeros(world)
            flags[get_rank()] = float(local)
            all_reduce(flags, op='sum')
            ranks = [r for r in range(world) if flags[r] > 0]
        if not ranks:
            return
        iteration = runner.iter + 1
        message = self._message(runner, iteration, terms, bad, weight, ranks,
                                world, skipped)
        _to_log_file(runner, message)
        raise TrainingDiverged(iteration, message)

    def _message(self, runner: Any, iteration: int,
                 terms: Dict[str, Tuple[float, Optional[torch.dtype]]],
                 bad: List[str], weight: Optional[str], ranks: List[int],
                 world: int, skipped: bool) -> str:
        listed = ', '.join(f'{k}: {_format(v)}' for k, (v, _) in terms.items())
        if bad:
            what = (f'{", ".join(bad)} not finite; the loss terms of this '
                    f'iteration: {listed}')
        elif weight is not None:
            what = (f'its update made the trained weight {weight} non-finite '
                    f'(the loss terms: {listed})')
        else:
            what = (f'{_ranks(ranks)} diverged (the loss terms of this rank: '
                    f'{listed})')
        where = ''
        if world > 1:
            others = [r for r in ranks if r != get_rank()]
            where = f' (rank {get_rank()} of {world}' + (
                f'; {_ranks(others)} too' if others and (bad or weight) else
                '') + ')'
        text = (f'Training diverged at iteration {iteration}{where}: {what}; '
                f'learning rate {_lr_text(runner)}.')
        if self._updates > 1:
            text += (' Before it, ' + self.skipped_text(
                self._skipped - int(skipped), self._updates - 1) + '.')
        path, _ = latest_checkpoint(runner.work_dir)
        if path is not None:
            text += (f' No checkpoint of this state was written; the newest '
                     f'one, {path}, is from before it.')
        else:
            text += (' No checkpoint of this state was written (nor any '
                     f'before it in {osp.abspath(runner.work_dir)}).')
        start = ('from the beginning, or from the weights of that checkpoint '
                 f'with --cfg-options load_from={path} (--resume would bring '
                 'back the learning rate it was saved with, with the '
                 'optimizer state)') if path else 'from the beginning'
        text += (' Usual causes: a learning rate too high '
                 '(optim_wrapper.optimizer.lr, or a warm-up too short), a '
                 'loss weight too high (e.g. the distillation loss\'s '
                 'loss_weight), or a float16 overflow under --amp. Lower it '
                 f'and train again: {start}. To train on regardless, as '
                 'mmengine does, set allow_nonfinite=True in the config\'s '
                 'FiniteLossHook (custom_hooks).')
        return text
