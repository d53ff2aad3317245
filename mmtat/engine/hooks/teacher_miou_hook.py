import logging
from typing import Any, Dict, Optional

from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.registry import HOOKS

from ...checks.published import PublishedResult, published_teacher_miou
from ...checks.teacher_fit import config_teacher_ckpt

#: A teacher whose validation mIoU is below this fraction of its published
#: one is reported as a warning: its weights are probably not the release's.
TEACHER_MIOU_WARN_RATIO = 0.5


@HOOKS.register_module()
class TeacherMIoUHook(Hook):
    """Log the teacher's first validation mIoU next to its published one.

    A teacher checkpoint that fits the teacher shape for shape can still be
    the wrong one (another dataset's weights of the same network, an early
    checkpoint).  MMRazor's ``SingleTeacherDistillValLoop`` validates the
    teacher too (``teacher.mIoU``); after the first validation this hook
    logs that figure next to the one the metafiles publish for the
    teacher's weights (:mod:`mmtat.checks.published`), as a warning when it
    is below :data:`TEACHER_MIOU_WARN_RATIO` of it.  A run without a
    teacher's mIoU logs nothing.

    mmtat's ``tools/train.py`` adds it; from a config's ``custom_hooks`` it
    needs no arguments.

    Args:
        published: what the metafiles state for the teacher's weights
            (:func:`mmtat.checks.published_teacher_miou`); looked up for the
            runner's ``model.teacher_ckpt`` when None.
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
            published = published_teacher_miou(
                config_teacher_ckpt(getattr(runner, 'cfg', None)))
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
