from typing import Any, Optional

from mmengine.hooks import Hook
from mmengine.registry import HOOKS

from ...checks.checkpoint_fit import UNEXPECTED_TOLERANCE, misfit_parts
from ...checks.teacher_fit import (
    TeacherWeights,
    config_teacher_ckpt,
    read_state,
    teacher_fit_problems,
    teacher_misfit_hint,
    teacher_weight_sources,
)
from ...utils.errors import RunRefused


@HOOKS.register_module()
class TeacherCheckpointHook(Hook):
    """Refuse to train when the teacher's checkpoint does not fit it.

    A distillation teacher loads its weights with ``strict=False``
    (:mod:`mmtat.checks.teacher_fit`): a checkpoint of another network only
    makes mmengine warn, and the run distils from randomly initialised
    teacher layers to the end.  Before the first iteration (``before_train``:
    MMRazor has loaded ``teacher_ckpt`` and ``init_weights`` the
    ``init_cfg`` checkpoints; the files are local or in the download cache
    by then) this hook compares each of those checkpoints with the teacher
    and raises :class:`~mmtat.utils.errors.RunRefused` with the counts, a
    few names and the likely fix.  A model without a teacher is left
    alone.

    mmtat's ``tools/train.py`` adds it, ``--allow-partial-teacher`` sets
    ``allow_partial``.  From a config's ``custom_hooks`` it needs no
    arguments.

    Args:
        teacher_ckpt: the config's ``model.teacher_ckpt``; read from the
            runner's config when None.
        allow_partial: only warn (``--allow-partial-teacher``).
    """
    priority = 'VERY_HIGH'

    def __init__(self, teacher_ckpt: Optional[str] = None,
                 allow_partial: bool = False) -> None:
        self.teacher_ckpt = teacher_ckpt
        self.allow_partial = allow_partial

    def before_train(self, runner: Any) -> None:
        teacher_ckpt = self.teacher_ckpt
        if teacher_ckpt is None:
            teacher_ckpt = config_teacher_ckpt(getattr(runner, 'cfg', None))
        for source in teacher_weight_sources(runner.model, teacher_ckpt):
            self._check(runner, source)

    def _check(self, runner: Any, source: TeacherWeights) -> None:
        path = source.local_file()
        if path is None:
            runner.logger.warning(
                f'{source.what} = {source.path}: not found on this machine '
                'after loading, so it was not compared with the teacher.')
            return
        state = read_state(path)
        found = teacher_fit_problems(source, state)
        missing, mismatched = found['missing'], found['mismatched']
        unexpected = found['unexpected']
        limit = UNEXPECTED_TOLERANCE * max(len(found['checkpoint']), 1)
        if not missing and not mismatched and len(unexpected) <= limit:
            return
        parts = misfit_parts(found, 'teacher weights', 'teacher weight')
        text = (f'{source.what} = {source.path} does not fit the teacher of '
                'this config: ' + '; '.join(parts) + '. ' +
                teacher_misfit_hint(state, found, source))
        if self.allow_partial:
            runner.logger.warning(
                text + ' Training anyway (--allow-partial-teacher).')
            return
        raise RunRefused(
            text + ' Training would distil from a teacher with randomly '
            'initialised layers, so nothing was trained. To load it '
            'partially on purpose, add --allow-partial-teacher.')
