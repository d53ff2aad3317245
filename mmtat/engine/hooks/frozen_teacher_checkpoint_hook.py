import re
from typing import Any, Dict, Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from ...checks.teacher_fit import config_teacher_ckpt
from ...checks.teacher_record import (
    META_KEY,
    TEACHER_PREFIX,
    checkpoint_teacher_record,
    holds_teacher,
    teacher_file,
    teacher_record,
    teacher_record_problem,
)
from ...utils.errors import RunRefused
from ..runner_facts import is_training

_BN_COUNTER = re.compile(r'(^|\.)num_batches_tracked$')


def _unwrap(model: Any) -> Any:
    return model.module if is_model_wrapper(model) else model


def frozen_teacher(model: Any) -> Optional[torch.nn.Module]:
    """The teacher of a distillation algorithm whose teacher never changes
    while it trains (not trained, norm layers in eval mode); None for any
    other model."""
    model = _unwrap(model)
    teacher = getattr(model, 'teacher', None)
    if not isinstance(teacher, torch.nn.Module):
        return None
    if getattr(model, 'teacher_trainable', True) or not getattr(
            model, 'teacher_norm_eval', False):
        return None
    return teacher


def _file_state(path: str) -> Dict[str, torch.Tensor]:
    """The tensors of a teacher's weights file as mmengine's
    ``load_checkpoint`` (MMRazor's ``teacher_ckpt``) maps them."""
    from mmengine.runner.checkpoint import _load_checkpoint
    checkpoint = _load_checkpoint(path, map_location='cpu')
    state = checkpoint.get('state_dict', checkpoint)
    return {
        re.sub(r'^module\.', '', k): v
        for k, v in state.items() if isinstance(k, str) and torch.is_tensor(v)
    }


def _differences(teacher: torch.nn.Module, path: str) -> Optional[str]:
    """Why loading ``path`` into the teacher would not give its weights
    bitwise (None: it would)."""
    saved = _file_state(path)
    for key, value in teacher.state_dict().items():
        if key not in saved:
            # a BN counter the file lacks stays at its initial 0
            if _BN_COUNTER.search(key) and not bool(value.any()):
                continue
            return f'{key} is not in it'
        if saved[key].shape != value.shape or not torch.equal(
                saved[key].to(value.dtype), value.detach().cpu()):
            return f'{key} differs from it'
    return None


@HOOKS.register_module()
class FrozenTeacherCheckpointHook(Hook):
    """Checkpoints without the frozen teacher, which comes from its file.

    A distillation checkpoint holds every weight of the algorithm: with a
    DeepLabV3-R101 teacher most of it is the teacher, which never changes
    while a frozen teacher in eval mode (``teacher_trainable=False``,
    ``teacher_norm_eval=True``) distils, and which ``model.teacher_ckpt``
    names already.  Before a checkpoint is written (``before_save_checkpoint``)
    this hook leaves the ``teacher.*`` weights out and records the file in
    the checkpoint's meta (:mod:`mmtat.checks.teacher_record`: path, size,
    SHA-256, computed once per run).  It does so only when loading that file
    gives the teacher's weights bitwise (checked once per run, against the
    file's tensors); otherwise, and for a teacher that trains (its own
    losses, or BN statistics updated: the release recipe), the checkpoint
    holds the teacher as before.

    When such a checkpoint is loaded (``after_load_checkpoint``: ``--resume``,
    ``load_from``, ``tools/test.py``), MMRazor has loaded ``teacher_ckpt``
    into the teacher already; the hook checks that the file is the one
    recorded (same SHA-256) and puts the teacher's weights into the loaded
    state dict, so mmengine loads every weight and reports none missing.  A
    file that is missing, has other content, or a run without
    ``teacher_ckpt`` is refused in training (the teacher would not be the one
    the run trained with), and only warned about in a test (the evaluation
    uses the student).  Checkpoints that hold the teacher load as before.

    From a config's ``custom_hooks`` it needs no arguments; mmtat's
    ``tools/train.py`` and ``tools/test.py`` add it to a config that does not
    list it.

    Args:
        keep_teacher: keep the teacher's weights in every checkpoint.
    """
    priority = 'VERY_HIGH'

    def __init__(self, keep_teacher: bool = False) -> None:
        self.keep_teacher = keep_teacher
        # (teacher file, its sha256) -> why the teacher is kept (None: not)
        self._verdict: Dict[Any, Optional[str]] = {}

    # ------------------------------------------------------------------
    # saving
    # ------------------------------------------------------------------
    def _left_out_record(self, runner: Any) -> Optional[Dict[str, Any]]:
        """The record to save in place of the teacher, or None to keep
        it."""
        if self.keep_teacher:
            return None
        teacher = frozen_teacher(runner.model)
        if teacher is None:
            return None
        teacher_ckpt = config_teacher_ckpt(getattr(runner, 'cfg', None))
        path = teacher_file(teacher_ckpt)
        if path is None:
            self._note(runner, None, 'it has no weights file '
                       '(model.teacher_ckpt is not set, or its file is not '
                       'on this machine)')
            return None
        record = teacher_record(teacher_ckpt, len(teacher.state_dict()))
        key = (record['file'], record['sha256'])
        if key not in self._verdict:
            why = _differences(teacher, path)
            self._verdict[key] = why
            if why is not None:
                self._note(runner, key, f'loading {teacher_ckpt} would not '
                           f'give its weights: {why} (e.g. '
                           '--allow-partial-teacher)')
            else:
                runner.logger.info(
                    'Checkpoints leave the frozen teacher out: its weights '
                    f'come from {teacher_ckpt} (sha256 '
                    f'{record["sha256"][:16]}...), checked equal; '
                    'keep_teacher=True in FrozenTeacherCheckpointHook keeps '
                    'them in.')
        return None if self._verdict[key] else record

    def _note(self, runner: Any, key: Any, why: str) -> None:
        if ('note', key) in self._verdict:
            return
        self._verdict[('note', key)] = why
        runner.logger.info(f'Checkpoints hold the frozen teacher: {why}.')

    def before_save_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        record = self._left_out_record(runner)
        if record is None:
            return
        state = checkpoint['state_dict']
        for key in [k for k in state if k.startswith(TEACHER_PREFIX)]:
            del state[key]
        checkpoint.setdefault('meta', {})[META_KEY] = record

    # ------------------------------------------------------------------
    # loading
    # ------------------------------------------------------------------
    def after_load_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        record = checkpoint_teacher_record(checkpoint)
        if record is None or holds_teacher(checkpoint):
            return  # the teacher is in it (or it is not a distillation's)
        teacher = getattr(_unwrap(runner.model), 'teacher', None)
        if not isinstance(teacher, torch.nn.Module):
            return
        name = getattr(runner, '_load_from', None) or 'being loaded'
        teacher_ckpt = config_teacher_ckpt(getattr(runner, 'cfg', None))
        problem = teacher_record_problem(record, teacher_ckpt, name)
        if problem is not None:
            if is_training(runner):
                raise RunRefused(problem + '. Nothing was trained.')
            runner.logger.warning(
                problem + '. The evaluation uses the student only, so it '
                'goes on.')
        state = checkpoint.setdefault('state_dict', {})
        state.update({
            TEACHER_PREFIX + k: v
            for k, v in teacher.state_dict().items()
        })
        if problem is None:
            runner.logger.info(
                f'The checkpoint holds no teacher weights: the teacher is '
                f'{teacher_ckpt}, the file it was trained with (sha256 '
                f'{record["sha256"][:16]}...).')
