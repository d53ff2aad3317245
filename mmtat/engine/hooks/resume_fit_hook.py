from typing import Any, Optional

from mmengine.hooks import Hook
from mmengine.registry import HOOKS
from mmengine.runner import find_latest_checkpoint

from ...checks.checkpoint_fit import (
    checkpoint_fit_problems,
    checkpoint_run_name,
    misfit_parts,
    optimizer_groups,
)
from ...checks.teacher_record import TEACHER_PREFIX, teacher_left_out
from ...utils.errors import RunRefused
from ..runner_facts import config_path, is_resuming


@HOOKS.register_module()
class ResumeFitHook(Hook):
    """Refuse to resume from a checkpoint of another config.

    Resuming restores the model's weights, the optimizer's state and the
    schedules.  A checkpoint of another config (a CWD run's work dir
    resumed with the TaT config, another class count) has other weights,
    which mmengine would skip with a warning, and another optimizer state,
    on which torch's ``load_state_dict`` fails with a traceback.  Before
    either is loaded (``after_load_checkpoint`` of a run with
    ``resume=True``), this hook compares the checkpoint's tensors with every
    weight of the model and its optimizer state's parameter groups with the
    config's optimizer, and raises :class:`~mmtat.utils.errors.RunRefused`
    naming both configs.  Other runs (``load_from`` without ``resume``, test
    runs) are left alone.  A checkpoint without ``teacher.*`` weights fits
    only when it records the frozen teacher's weights file
    (:class:`FrozenTeacherCheckpointHook`).

    mmtat's ``tools/train.py --resume`` adds it; from a config's
    ``custom_hooks`` it needs no arguments.

    Args:
        checkpoint_name: the checkpoint, as the run found or was given it;
            the runner's ``load_from`` (or the work dir's newest checkpoint,
            which mmengine resumes without one) when None.
        config_name: the config of this run; the runner's config file (if
            it was built from one) when None.
    """
    priority = 'VERY_HIGH'

    def __init__(self, checkpoint_name: Optional[str] = None,
                 config_name: Optional[str] = None) -> None:
        self.checkpoint_name = checkpoint_name
        self.config_name = config_name

    def after_load_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        if not is_resuming(runner):
            return
        found = checkpoint_fit_problems(runner.model, checkpoint, prefix='')
        if teacher_left_out(checkpoint):
            # saved without its frozen teacher, whose weights file it
            # records (FrozenTeacherCheckpointHook checks and loads it)
            found['missing'] = [
                k for k in found['missing'] if not k.startswith(
                    TEACHER_PREFIX)
            ]
        parts = misfit_parts(found, 'weights of this config\'s model',
                             'weight of this model')
        optimizer = getattr(getattr(runner, 'optim_wrapper', None),
                            'optimizer', None)
        saved = optimizer_groups(checkpoint.get('optimizer'))
        if optimizer is not None and saved is not None:
            own = [len(g['params']) for g in optimizer.param_groups]
            if own != saved:
                parts.append('its optimizer state has parameter groups of '
                             f'{saved} parameters, this config\'s optimizer '
                             f'groups of {own}')
        if not parts:
            return
        # without load_from, mmengine resumes the work dir's newest one
        checkpoint_name = (self.checkpoint_name
                           or getattr(runner, '_load_from', None)
                           or find_latest_checkpoint(runner.work_dir))
        config_name = self.config_name or config_path(runner)
        run = checkpoint_run_name(checkpoint)
        written = (f'a run of {run}' if run else
                   'a run whose config it does not record')
        this_config = f'this config ({config_name})' if config_name else \
            'this config'
        raise RunRefused(
            f'--resume: the checkpoint {checkpoint_name} was written by '
            f'{written}, not for {this_config}: '
            + '; '.join(parts) + '. Nothing was trained. Resume it with the '
            'config that wrote it, give this config a work dir of its own '
            '(--work-dir), or start it without --resume; to start this '
            'model from the checkpoint\'s fitting weights (iteration 0, a '
            'new optimizer) use --cfg-options load_from=' +
            checkpoint_name + ' instead of --resume.')
