"""Stop a run at the first sample that cannot be loaded or holds labels
outside its classes, naming the file, instead of a traceback.

A label value that is neither a class nor the ignore index reaches the
loss as a target index out of range: ``IndexError: Target 40 is out of
bounds`` on the CPU, a device-side assert that names no file on a GPU, in
both cases after the sample has left the data pipeline.  An unreadable file
ends in the decoder's own error inside a data loader worker.

:class:`~mmtat.engine.hooks.DataGuardHook` (added to every run by
``tools/train.py`` and ``tools/test.py``, listed in the shipped configs'
``custom_hooks``) wraps the loading transforms of each dataset's pipeline
(its ``Load*`` ones, also inside a ``TestTimeAug``) in
:class:`GuardedLoading` before the data loaders start their workers
(:func:`guard_dataloader`).  It runs them as
before and checks what they produced with
:func:`mmtat.checks.data_check.loaded_problems`: one min and max over the
label in the common case, a masked comparison when the ignore index occurs,
on the CPU side, before a GPU sees the target; for a classification
dataset (MMPretrain's ``ImageNet``) the image's label, against its class
count, with the line of the annotation file that gives it.  A problem
raises
:class:`~mmtat.utils.errors.DataSampleError`: one paragraph with the file,
the problem and the command that checks the whole dataset.
"""
from typing import Any, List, Optional, Tuple

from ..checks.data_check import (
    LabelRule,
    label_rule,
    leaf_datasets,
    loaded_problems,
    loading_transforms,
    run_loaders,
)
from ..utils.errors import DataSampleError

__all__ = ['GuardedLoading', 'guard_dataloader', 'check_data_command']


def check_data_command(config: str, has_cfg_options: bool = False) -> str:
    """The command that checks a config's whole data."""
    command = f'python tools/misc/check_data.py {config}'
    if has_cfg_options:
        command += ' --cfg-options ... (those of this run)'
    return command


class GuardedLoading:
    """A pipeline's loading transforms, then the sample's checks.

    Args:
        loaders: the transforms it replaces (``LoadImageFromFile``,
            ``LoadAnnotations``), run in this order.
        rule: the label values the dataset may hold.
        where: the dataset, for messages (``training data
            (PascalVOCDataset)``).
        command: the command that checks the whole dataset.
    """

    def __init__(self, loaders: List[Any], rule: LabelRule, where: str,
                 command: str) -> None:
        self.loaders = list(loaders)
        self.rule = rule
        self.where = where
        self.command = command

    def __call__(self, results: dict) -> Optional[dict]:
        loaded, failure = run_loaders(self.loaders, results)
        problems = [failure] if failure else loaded_problems(
            loaded, self.rule)
        if problems:
            where = self.where[:1].upper() + self.where[1:]
            lines = self.rule.labels_from or 'the split file'
            raise DataSampleError(
                f'{where}: {problems[0].sentence()}. The run stopped at this '
                f'sample; check the whole dataset with {self.command}, '
                'which lists every such file, and fix or remove them (or '
                f'their lines in {lines}).')
        return loaded

    def __repr__(self) -> str:
        inner = ', '.join(type(t).__name__ for t in self.loaders)
        return f'{type(self).__name__}([{inner}], {self.rule})'


def guard_dataloader(dataloader: Any, role: str, command: str) -> int:
    """Put :class:`GuardedLoading` in place of the loading transforms of
    each dataset of ``dataloader`` (a built one), also those in the branches
    of a ``TestTimeAug`` (``tools/test.py --tta``); before its workers
    start, as they copy the pipeline.  Returns the number of datasets
    guarded."""
    dataset = getattr(dataloader, 'dataset', None)
    if dataset is None:
        return 0
    guarded = 0
    for leaf in leaf_datasets(dataset):
        places = [(leaf.pipeline.transforms, position, transform)
                  for position, transform in loading_transforms(leaf)]
        places += _test_time_aug_loading(leaf)
        if not places:
            continue  # no Load* transforms, or guarded already
        try:
            rule = label_rule(leaf)
        except ValueError:
            continue  # no classes: no labels to check
        where = (f'{role} ({type(leaf).__name__}, data_root='
                 f'{getattr(leaf, "data_root", None)!r})')
        # TestTimeAug's branches share its transform objects: one guard each
        guards = {}
        for transforms, position, transform in places:
            if id(transform) not in guards:
                guards[id(transform)] = GuardedLoading([transform], rule,
                                                       where, command)
            transforms[position] = guards[id(transform)]
        guarded += 1
    return guarded


def _test_time_aug_loading(dataset: Any) -> List[Tuple[List[Any], int, Any]]:
    """``(transform list, position, transform)`` of the ``Load*``
    transforms inside a test-time augmentation of the dataset's pipeline
    (MMSegmentation's ``tta_pipeline`` loads the label in each branch of its
    ``TestTimeAug``, after resizing and flipping the image)."""
    found = []
    transforms = getattr(getattr(dataset, 'pipeline', None), 'transforms',
                         None) or []
    for transform in transforms:
        for branch in getattr(transform, 'subroutines', None) or []:
            inner = getattr(branch, 'transforms', None)
            if not isinstance(inner, list):
                continue
            found += [(inner, i, t) for i, t in enumerate(inner)
                      if type(t).__name__.startswith('Load')]
    return found
