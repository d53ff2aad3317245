"""Hooks that keep a distillation run from training with a wrong teacher.

A distillation config's teacher gets its weights from ``model.teacher_ckpt``
(loaded by MMRazor when the model is built) or, without it, from the
``init_cfg`` checkpoints of its modules (loaded when training starts).
Both load with ``strict=False``: a checkpoint of another network (the
student's, another depth, another class count, a whole distillation
checkpoint) only makes mmengine warn, and the run distils from randomly
initialised teacher layers to the end.

* :class:`TeacherCheckpointHook` compares each of those checkpoints with the
  teacher, as ``tools/test.py`` compares a checkpoint with the evaluated
  model (:func:`~mmtat.engine.hooks.checkpoint_fit_problems`), after they
  are loaded and before the first iteration, and refuses a misfit with the
  counts, a few names and the likely fix; ``--allow-partial-teacher``
  (``allow_partial``) only warns.
* :class:`TeacherMIoUHook` logs the teacher's first validation mIoU next to
  the figure published for its weights (:mod:`mmtat.checks.published`), so
  that a wrong teacher that fits shape for shape is visible too.
"""
import logging
import os.path as osp
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from torch import nn

from ..checks.config_checkpoints import REMOTE_PREFIXES
from ..checks.published import PublishedResult
from ..checks.remote_files import download_cache_path
from ..compat import mmengine_checkpoint_globals
from ..utils.errors import RunRefused
from .hooks import UNEXPECTED_TOLERANCE, checkpoint_fit_problems, misfit_parts

__all__ = [
    'TeacherWeights', 'teacher_weight_sources', 'teacher_fit_problems',
    'TeacherCheckpointHook', 'TeacherMIoUHook', 'TEACHER_MIOU_WARN_RATIO'
]

#: A teacher whose validation mIoU is below this fraction of its published
#: one is reported as a warning: its weights are probably not the release's.
TEACHER_MIOU_WARN_RATIO = 0.5
_CLASSIFIER = re.compile(r'(^|\.)conv_seg\.(weight|bias)$')


@dataclass
class TeacherWeights:
    """One checkpoint the teacher's weights come from.

    Attributes:
        what: how the config names it, for messages.
        path: the path or URL the config gives.
        module: the teacher module it is loaded into.
        prefix: the checkpoint keys that are loaded, by prefix (stripped);
            ``''`` for all (``init_cfg``'s ``prefix``).
    """
    what: str
    path: str
    module: nn.Module
    prefix: str = ''

    def local_file(self) -> Optional[str]:
        """The file mmengine loaded: the path itself, or its download."""
        path = self.path
        if path.startswith(REMOTE_PREFIXES) or '://' in path:
            path = download_cache_path(path) or ''
        return path if path and osp.isfile(path) else None


def _unwrap(model: Any) -> Any:
    return model.module if is_model_wrapper(model) else model


def teacher_weight_sources(
        model: Any, teacher_ckpt: Optional[str]) -> List[TeacherWeights]:
    """The checkpoints the teacher of distillation algorithm ``model`` is
    loaded from: ``teacher_ckpt``, or without it the ``Pretrained``
    ``init_cfg`` of each teacher module (``model.teacher.pretrained`` ends
    up as the backbone's).  Empty for a model without a teacher."""
    algorithm = _unwrap(model)
    teacher = getattr(algorithm, 'teacher', None)
    if teacher is None or not hasattr(algorithm, 'architecture'):
        return []
    if teacher_ckpt:
        return [TeacherWeights('model.teacher_ckpt', teacher_ckpt, teacher)]
    found = []
    for name, module in teacher.named_modules():
        init_cfgs = getattr(module, 'init_cfg', None) or []
        for init_cfg in (init_cfgs if isinstance(init_cfgs, list)
                         else [init_cfgs]):
            if (isinstance(init_cfg, dict)
                    and init_cfg.get('type') == 'Pretrained'
                    and isinstance(init_cfg.get('checkpoint'), str)):
                where = f'teacher.{name}' if name else 'teacher'
                found.append(TeacherWeights(
                    f'the init_cfg checkpoint of {where}',
                    init_cfg['checkpoint'], module,
                    init_cfg.get('prefix') or ''))
    return found


def _read_state(path: str) -> Dict[str, Any]:
    """The tensors of a checkpoint file; memory-mapped where torch can, so
    that a large checkpoint costs no second copy in memory."""
    with mmengine_checkpoint_globals():
        try:
            checkpoint = torch.load(path, map_location='cpu', mmap=True,
                                    weights_only=True)
        except RuntimeError:  # a legacy (non-zip) file cannot be mapped
            checkpoint = torch.load(path, map_location='cpu',
                                    weights_only=True)
    if not isinstance(checkpoint, dict):
        return {}
    state = checkpoint.get('state_dict', checkpoint)
    return state if isinstance(state, dict) else {}


def teacher_fit_problems(source: TeacherWeights,
                         state: Dict[str, Any]) -> Dict[str, List]:
    """:func:`~mmtat.engine.hooks.checkpoint_fit_problems` of the tensors
    ``source`` loads from ``state`` against its module."""
    state = {re.sub(r'^module\.', '', k): v
             for k, v in state.items() if isinstance(k, str)}
    if source.prefix:
        state = {k[len(source.prefix):]: v for k, v in state.items()
                 if k.startswith(source.prefix)}
    return checkpoint_fit_problems(source.module, {'state_dict': state},
                                   prefix='')


def _hint(state: Dict[str, Any], found: Dict[str, List],
          source: TeacherWeights) -> str:
    keys = [k for k in state if isinstance(k, str)]
    if (any(k.startswith('teacher.') for k in keys)
            and any(k.startswith('architecture.') for k in keys)):
        return ('It is a distillation checkpoint: its teacher is under '
                'teacher.* (and a student under architecture.*). Give the '
                'teacher\'s own checkpoint, or load that part with '
                '--cfg-options model.teacher_ckpt=None "model.teacher.'
                f'init_cfg=dict(type=\'Pretrained\',checkpoint=\'{source.path}'
                '\',prefix=\'teacher.\')".')
    mismatched = found['mismatched']
    if (mismatched and not found['missing']
            and all(_CLASSIFIER.search(k) for k, _, _ in mismatched)):
        key, own, other = next(
            (m for m in mismatched if m[0].endswith('weight')), mismatched[0])
        return (f'Only the classifier differs ({key}: {other[0]} classes in '
                f'the checkpoint, {own[0]} in this config): a teacher '
                'trained on another dataset. Give the teacher of this '
                'dataset, or the class count it was trained with.')
    return ('It is the checkpoint of another network than this config\'s '
            'teacher (e.g. the student\'s, another depth or another head): '
            f'check {source.what} and model.teacher.')


class TeacherCheckpointHook(Hook):
    """Refuse to train when the teacher's checkpoint does not fit it.

    Runs before the first iteration (after MMRazor loaded ``teacher_ckpt``
    and ``init_weights`` the ``init_cfg`` checkpoints; the files are local
    or in the download cache by then).

    Args:
        teacher_ckpt: the config's ``model.teacher_ckpt``.
        allow_partial: only warn (``--allow-partial-teacher``).
    """
    priority = 'VERY_HIGH'

    def __init__(self, teacher_ckpt: Optional[str] = None,
                 allow_partial: bool = False) -> None:
        self.teacher_ckpt = teacher_ckpt
        self.allow_partial = allow_partial

    def before_train(self, runner: Any) -> None:
        for source in teacher_weight_sources(runner.model, self.teacher_ckpt):
            self._check(runner, source)

    def _check(self, runner: Any, source: TeacherWeights) -> None:
        path = source.local_file()
        if path is None:
            runner.logger.warning(
                f'{source.what} = {source.path}: not found on this machine '
                'after loading, so it was not compared with the teacher.')
            return
        state = _read_state(path)
        found = teacher_fit_problems(source, state)
        missing, mismatched = found['missing'], found['mismatched']
        unexpected = found['unexpected']
        limit = UNEXPECTED_TOLERANCE * max(len(found['checkpoint']), 1)
        if not missing and not mismatched and len(unexpected) <= limit:
            return
        parts = misfit_parts(found, 'teacher weights', 'teacher weight')
        text = (f'{source.what} = {source.path} does not fit the teacher of '
                'this config: ' + '; '.join(parts) + '. ' +
                _hint(state, found, source))
        if self.allow_partial:
            runner.logger.warning(
                text + ' Training anyway (--allow-partial-teacher).')
            return
        raise RunRefused(
            text + ' Training would distil from a teacher with randomly '
            'initialised layers, so nothing was trained. To load it '
            'partially on purpose, add --allow-partial-teacher.')


class TeacherMIoUHook(Hook):
    """Log the teacher's first validation mIoU next to its published one.

    Args:
        published: what the metafiles state for the teacher's weights
            (:func:`mmtat.checks.published_teacher_miou`), or None.
    """
    priority = 'LOW'

    def __init__(self, published: Optional[PublishedResult] = None) -> None:
        self.published = published
        self.logged = False

    def after_val_epoch(self, runner: Any,
                        metrics: Optional[Dict[str, float]] = None) -> None:
        value = (metrics or {}).get('teacher.mIoU')
        if self.logged or value is None:
            return
        try:
            value = float(value)  # the evaluator's numpy scalar
        except (TypeError, ValueError):
            return
        self.logged = True
        published = self.published
        if published is None:
            print_log(f'Teacher: validation mIoU {value:.2f} (the metafiles '
                      'state no published mIoU for its weights).',
                      logger='current')
            return
        text = (f'Teacher: validation mIoU {value:.2f}; published '
                f'{published.miou:.2f} for {published.model} '
                f'({published.source}).')
        if value >= TEACHER_MIOU_WARN_RATIO * published.miou:
            print_log(text, logger='current')
            return
        print_log(
            text + f' Below {TEACHER_MIOU_WARN_RATIO:.0%} of it: the '
            'teacher\'s weights are probably not the ones its config '
            'describes (check model.teacher_ckpt, the teacher\'s config and '
            'class count), or the validation data is not the release\'s.',
            logger='current', level=logging.WARNING)
