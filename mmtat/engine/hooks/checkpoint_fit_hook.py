from typing import Any, Dict, List, Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS

from ...checks.checkpoint_fit import (
    UNEXPECTED_TOLERANCE,
    checkpoint_fit_problems,
    evaluated_prefix,
    misfit_parts,
)
from ...utils.errors import RunRefused
from ..runner_facts import is_training


@HOOKS.register_module()
class CheckpointFitHook(Hook):
    """Refuse, before evaluating, a checkpoint that does not fit the model.

    mmengine loads the checkpoint of a test run with ``strict=False`` and
    only warns about weights it lacks, so a distillation checkpoint tested
    with the student's plain config (or the other way round, or another
    class count) would score randomly initialised layers.  In
    ``after_load_checkpoint`` of a test or validation run this hook compares
    the checkpoint with the weights the evaluation uses and raises
    :class:`~mmtat.utils.errors.RunRefused` naming what is missing, what
    has another shape and the likely fix.  A training run's ``load_from``
    (fine-tuning, often of another head on purpose) is left alone.

    mmtat's ``tools/test.py`` adds it with the checkpoint as the command
    line names it, and ``--allow-partial-checkpoint`` sets
    ``allow_partial``.  From a config's ``custom_hooks`` it needs no
    arguments.

    Args:
        checkpoint_name: how the user named the checkpoint (for messages);
            the runner's ``load_from`` when None.
        allow_partial: only warn (``--allow-partial-checkpoint``).
    """
    priority = 'VERY_HIGH'

    def __init__(self, checkpoint_name: Optional[str] = None,
                 allow_partial: bool = False) -> None:
        self.checkpoint_name = checkpoint_name
        self.allow_partial = allow_partial

    def after_load_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        if is_training(runner):
            return
        found = checkpoint_fit_problems(runner.model, checkpoint)
        missing, mismatched = found['missing'], found['mismatched']
        unexpected = found['unexpected']
        limit = UNEXPECTED_TOLERANCE * max(len(found['checkpoint']), 1)
        if not missing and not mismatched and len(unexpected) <= limit:
            return
        parts = misfit_parts(found, 'weights the evaluation uses',
                             'weight of the model')
        name = self.checkpoint_name or getattr(runner, '_load_from', None)
        text = (f'The checkpoint {name} does not fit the '
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
        if evaluated_prefix(model) and not distill_ckpt:
            return ('It looks like a plain (student) checkpoint and the '
                    'config is a distillation config: evaluate it with the '
                    'student\'s own config (e.g. '
                    'configs/baselines/deeplabv3_r18_voc.py for the VOC '
                    'TaT student).')
        if not evaluated_prefix(model) and distill_ckpt:
            return ('It looks like a distillation checkpoint (student under '
                    'architecture.*) and the config is a plain one: extract '
                    'the student with tools/convert_student.py CKPT '
                    'student.pth and evaluate that, or evaluate with the '
                    'distillation config it was trained with.')
        return ('Check that the config is the one the checkpoint was trained '
                'with (classes, backbone depth, heads).')
