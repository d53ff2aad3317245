import logging
import warnings
from typing import Any, Dict, Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.registry import HOOKS

from ...checks.published import PublishedResult, published_teacher_result
from ...checks.task import TASK_METRICS
from ...checks.teacher_fit import config_teacher_ckpt

#: A teacher whose validation figure (mIoU, top-1) is below this fraction of
#: its published one is reported as a warning: its weights are probably not
#: the release's.
TEACHER_METRIC_WARN_RATIO = 0.5

#: the teacher's figure in a distillation run's validation metrics -> its
#: name: the main metric of each task (``teacher.mIoU``,
#: ``teacher.accuracy/top1``)
_TEACHER_KEYS = {f'teacher.{metrics[0].key}': metrics[0].name
                 for metrics in TASK_METRICS.values()}


@HOOKS.register_module()
class TeacherMetricHook(Hook):
    """Log the teacher's first validation metric (a segmentor's mIoU, a
    classifier's top-1) next to its published one.

    A teacher checkpoint that fits the teacher shape for shape can still be
    the wrong one (another dataset's weights of the same network, an early
    checkpoint).  MMRazor's ``SingleTeacherDistillValLoop`` validates the
    teacher too (``teacher.mIoU``, ``teacher.accuracy/top1``); after the
    first validation this hook logs that figure next to the one the
    metafiles publish for the teacher's weights
    (:mod:`mmtat.checks.published`: mmtat's, MMSegmentation's and
    MMPretrain's), as a warning when it is below
    :data:`TEACHER_METRIC_WARN_RATIO` of it.  A run without a teacher's
    figure logs nothing.

    mmtat's ``tools/train.py`` adds it; from a config's ``custom_hooks`` it
    needs no arguments.

    Args:
        published: what the metafiles state for the teacher's weights
            (:func:`mmtat.checks.published_teacher_result`); looked up for
            the runner's ``model.teacher_ckpt`` when None.
    """
    priority = 'LOW'

    def __init__(self, published: Optional[PublishedResult] = None) -> None:
        self.published = published
        self.logged = False

    def after_val_epoch(self, runner: Any,
                        metrics: Optional[Dict[str, float]] = None) -> None:
        key = next((k for k in _TEACHER_KEYS if k in (metrics or {})), None)
        if self.logged or key is None:
            return
        metric = _TEACHER_KEYS[key]
        try:
            value = float(metrics[key])  # the evaluator's numpy scalar
        except (TypeError, ValueError):
            return
        self.logged = True
        published = self.published
        if published is None:
            published = published_teacher_result(
                config_teacher_ckpt(getattr(runner, 'cfg', None)))
        if published is None or published.metric != metric:
            print_log(f'Teacher: validation {metric} {value:.2f} (the '
                      f'metafiles state no published {metric} for its '
                      'weights).', logger='current')
            return
        text = (f'Teacher: validation {metric} {value:.2f}; published '
                f'{published.value:.2f} for {published.model} '
                f'({published.source}).')
        if value >= TEACHER_METRIC_WARN_RATIO * published.value:
            print_log(text, logger='current')
            return
        print_log(
            text + f' Below {TEACHER_METRIC_WARN_RATIO:.0%} of it: the '
            'teacher\'s weights are probably not the ones its config '
            'describes (check model.teacher_ckpt, the teacher\'s config and '
            'class count), or the validation data is not the release\'s.',
            logger='current', level=logging.WARNING)


@HOOKS.register_module()
class TeacherMIoUHook(TeacherMetricHook):
    """:class:`TeacherMetricHook` under its former name, so that configs
    listing ``TeacherMIoUHook`` still build; it warns once per build."""

    def __init__(self, published: Optional[PublishedResult] = None) -> None:
        warnings.warn(
            'TeacherMIoUHook is now TeacherMetricHook (it logs a '
            "classifier's top-1 too): write dict(type='TeacherMetricHook') "
            'in custom_hooks.', DeprecationWarning, stacklevel=2)
        super().__init__(published)
