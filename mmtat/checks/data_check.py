"""What is inside a dataset's files: every image and label decoded as the
run's pipeline decodes them, and checked.

:mod:`~mmtat.checks.dataset_check` looks at the layout before a run (folders,
split files, the first and last sample) in a fraction of a second.  What it
cannot see costs a run later, often far into it and with a traceback that
names no file: a label value that is neither a class nor the ignore index
(``IndexError: Target 40 is out of bounds`` on the CPU, a device-side assert
on a GPU), a label of another size than its image (a collate error, or a
silently misaligned crop), a truncated or unreadable file.  This module
finds those, the same way for any dataset built on MMSegmentation's
``BaseSegDataset``, and for MMPretrain's classification datasets
(``ImageNet``, ``CustomDataset``), whose one label per image must be one
of the classes (a label of 1000 for ImageNet's 1000 classes is an
``IndexError`` in the loss, or a device-side assert):

* :func:`loading_transforms` takes the ``Load*`` transforms of the
  dataset's own pipeline (``LoadImageFromFile``, ``LoadAnnotations``), so a
  sample is decoded with the run's backends, ``reduce_zero_label`` and
  ``label_map``;
* :func:`loaded_problems` checks what they produced against the dataset's
  :class:`LabelRule` (its class count and ignore index);
* :func:`sample_problems` adds the files' own state (missing, truncated);
* :func:`check_config_data` does it for every sample of every dataset of a
  config, in several processes (``tools/misc/check_data.py``).

During a run, :class:`mmtat.engine.DataGuardHook` applies
:func:`loaded_problems` to every sample the run loads, and stops at the
first problem with :class:`~mmtat.utils.errors.DataSampleError`.
"""
import copy
import multiprocessing
import os.path as osp
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import numpy as np

from ..utils.machine import usable_cores
from .dataset_check import _leaf_datasets as leaf_dataset_cfgs
from .dataset_check import (
    build_dataset,
    dataset_problems,
    is_classification_dataset,
)

__all__ = [
    'PROBLEM_KINDS', 'LabelRule', 'SampleProblem', 'DatasetReport',
    'label_rule', 'loading_transforms', 'loaded_problems', 'file_problem',
    'sample_problems', 'leaf_datasets', 'config_datasets',
    'check_config_data', 'default_nproc', 'run_loaders', 'DATA_LOADERS',
    'leaf_dataset_cfgs'
]

#: kind -> what it means, in the order reports list them.
PROBLEM_KINDS: Dict[str, str] = {
    'layout': 'dataset folders, split files or samples missing',
    'empty': 'split with 0 samples',
    'missing': 'file missing',
    'truncated': 'file truncated',
    'unreadable': 'file cannot be read or decoded',
    'label_shape': 'label is not a single-channel map',
    'size_mismatch': 'label size differs from its image',
    'label_values': 'label values outside the classes',
}

#: the data loaders of a config, with the role of their data
DATA_LOADERS = (('train', 'train_dataloader', 'training'),
                ('val', 'val_dataloader', 'validation'),
                ('test', 'test_dataloader', 'test'))

_EXAMPLE_VALUES = 5


@dataclass(frozen=True)
class LabelRule:
    """Which label values a dataset may hold (after ``reduce_zero_label``
    and ``label_map``): a class index in ``[0, num_classes)`` or
    ``ignore_index``.

    A classification dataset has no ignore index (None) and names the
    annotation file its labels come from in ``labels_from``.
    """
    num_classes: int
    ignore_index: Optional[int] = 255
    labels_from: Optional[str] = None

    def __post_init__(self) -> None:
        if not isinstance(self.num_classes, int) or self.num_classes < 1:
            raise ValueError('num_classes must be a positive int, got '
                             f'{self.num_classes!r}')

    def bad_values(self, label: np.ndarray) -> Dict[int, int]:
        """value -> pixel count of the values that are neither a class nor
        the ignore index; empty when the label is fine.

        The common case (every value a class) costs a min and a max; when
        the ignore index occurs, one masked comparison over the label.
        """
        if label.size == 0:
            return {}
        if 0 <= label.min() and label.max() < self.num_classes:
            return {}
        bad = (label < 0) | (label >= self.num_classes)
        if self.ignore_index is not None:
            bad &= label != self.ignore_index
        if not bad.any():
            return {}
        values, counts = np.unique(label[bad], return_counts=True)
        return {int(v): int(c) for v, c in zip(values, counts)}

    def describe(self) -> str:
        classes = (f'one of the {self.num_classes} classes 0-'
                   f'{self.num_classes - 1}')
        if self.ignore_index is None:
            return classes
        return f'{classes} nor the ignore index {self.ignore_index}'


@dataclass
class SampleProblem:
    """One problem of one file.

    Attributes:
        kind: a key of :data:`PROBLEM_KINDS`.
        file: the file (or, for ``layout`` / ``empty``, the data root).
        detail: what is wrong, as a clause after the file name.
        values: for ``label_values``, value -> pixel count.
    """
    kind: str
    file: str
    detail: str
    values: Dict[int, int] = field(default_factory=dict)

    def sentence(self) -> str:
        return f'{self.file} {self.detail}'


def label_rule(dataset: Any) -> LabelRule:
    """The :class:`LabelRule` of a built dataset (its metainfo classes and
    ``ignore_index``; for a classification dataset no ignore index, and
    its annotation file)."""
    classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
    if not classes:
        raise ValueError(f'{type(dataset).__name__} has no metainfo '
                         'classes, so its label values cannot be checked')
    if is_classification_dataset(dataset):
        return LabelRule(len(classes), None,
                         getattr(dataset, 'ann_file', None) or None)
    return LabelRule(len(classes), int(getattr(dataset, 'ignore_index', 255)))


def _transform_name(transform: Any) -> str:
    return type(transform).__name__


def loading_transforms(dataset: Any) -> List[Tuple[int, Any]]:
    """``(position, transform)`` of the transforms of the dataset's pipeline
    whose class name starts with ``Load``: those that read and decode the
    files (MMSegmentation's test pipelines load the label after resizing
    the image, so they need not be the leading ones)."""
    transforms = getattr(getattr(dataset, 'pipeline', None), 'transforms',
                         None) or []
    return [(i, t) for i, t in enumerate(transforms)
            if _transform_name(t).startswith('Load')]


def _shape(array: np.ndarray) -> str:
    return 'x'.join(str(s) for s in array.shape[:2])


def loaded_problems(results: Dict[str, Any],
                    rule: LabelRule) -> List[SampleProblem]:
    """What is wrong with a sample after its loading transforms: a label
    that is not one channel, of another size than its image, or with values
    outside ``rule``."""
    image, label = results.get('img'), results.get('gt_seg_map')
    image_path = str(results.get('img_path'))
    label_path = str(results.get('seg_map_path'))
    if label is None and results.get('gt_label') is not None:
        return _image_label_problems(results, rule)
    if label is None:
        return []
    if label.ndim != 2:
        return [SampleProblem(
            'label_shape', label_path,
            f'decodes to an array of shape {tuple(label.shape)}, not a '
            '(height, width) map of class indices (a colour-coded label? '
            'the dataset\'s converter writes the index maps)')]
    problems = []
    # the image as decoded (a test pipeline resizes it before the label
    # is loaded)
    image_shape = results.get('ori_shape') or (
        image.shape[:2] if image is not None else None)
    if image_shape is not None and tuple(image_shape) != label.shape:
        problems.append(SampleProblem(
            'size_mismatch', label_path,
            f'is {_shape(label)} (height x width), its image {image_path} '
            f'{image_shape[0]}x{image_shape[1]}'))
    bad = rule.bad_values(label)
    if bad:
        shown = ', '.join(f'{v} ({c} pixels)' for v, c in
                          list(bad.items())[:_EXAMPLE_VALUES])
        more = (f' and {len(bad) - _EXAMPLE_VALUES} more values'
                if len(bad) > _EXAMPLE_VALUES else '')
        how = []
        if results.get('reduce_zero_label'):
            how.append('reduce_zero_label (the file holds them + 1)')
        if results.get('label_map'):
            how.append('the dataset\'s label_map')
        after = f' after {" and ".join(how)}' if how else ''
        problems.append(SampleProblem(
            'label_values', label_path,
            f'holds label values {shown}{more}{after}, which are neither '
            f'{rule.describe()}', bad))
    return problems


def _image_label_problems(results: Dict[str, Any],
                          rule: LabelRule) -> List[SampleProblem]:
    """A classification sample's label (``gt_label``: one class index, or
    several for a multi-label dataset) against ``rule``."""
    bad = rule.bad_values(np.asarray(results['gt_label']).ravel())
    if not bad:
        return []
    shown = ', '.join(str(v) for v in bad)
    index = results.get('sample_idx')
    line = (f' (line {index + 1} of {rule.labels_from})'
            if rule.labels_from and isinstance(index, int) else '')
    return [SampleProblem(
        'label_values', str(results.get('img_path')),
        f'is labelled {shown}{line}, which is not {rule.describe()}', bad)]


_JPEG = (b'\xff\xd8', b'\xff\xd9')
_PNG = (b'\x89PNG\r\n\x1a\n', b'IEND\xaeB`\x82')


def file_problem(path: str) -> Optional[SampleProblem]:
    """A file that is missing, empty or (JPEG, PNG) cut short: its format's
    end marker is not at its end, which a decoder may not notice."""
    if not osp.isfile(path):
        return SampleProblem('missing', path, 'does not exist')
    size = osp.getsize(path)
    if size == 0:
        return SampleProblem('truncated', path, 'is empty (0 bytes)')
    with open(path, 'rb') as f:
        head = f.read(8)
        f.seek(max(0, size - 16))
        tail = f.read()
    for name, (start, end) in (('JPEG', _JPEG), ('PNG', _PNG)):
        # JPEG writers may pad after the end marker
        if head.startswith(start) and end not in tail.rstrip(b'\x00'):
            return SampleProblem(
                'truncated', path,
                f'is truncated: a {name} file of {size} bytes without its '
                'end marker (an interrupted copy or download)')
    return None


def _one_line(err: BaseException) -> str:
    text = ' '.join(str(err).split())
    return f'{type(err).__name__}: {text}' if text else type(err).__name__


def run_loaders(loaders: List[Any], info: Dict[str, Any]
                ) -> Tuple[Optional[Dict[str, Any]],
                           Optional[SampleProblem]]:
    """Run the loading transforms on a sample's info; a failure becomes an
    ``unreadable`` problem of the file being read (the image, then the
    label)."""
    results: Optional[Dict[str, Any]] = info
    for transform in loaders:
        try:
            results = transform(results)
        except Exception as err:  # whatever the decoder raises
            reading = ('img_path' if 'img' not in (results or {})
                       else 'seg_map_path')
            return None, SampleProblem(
                'unreadable', str(info.get(reading)),
                f'cannot be loaded ({_one_line(err)})')
        if results is None:
            return None, SampleProblem(
                'unreadable', str(info.get('img_path')),
                f'was dropped by {_transform_name(transform)} (it returned '
                'no sample)')
    return results, None


def sample_problems(info: Dict[str, Any], loaders: List[Any],
                    rule: LabelRule) -> List[SampleProblem]:
    """Every problem of one sample (its data info, as the dataset lists
    it): its files, decoding them with ``loaders``, and what they hold."""
    problems = []
    for key in ('img_path', 'seg_map_path'):
        path = info.get(key)
        if isinstance(path, str):
            problem = file_problem(path)
            if problem is not None:
                problems.append(problem)
    if any(p.kind == 'missing' for p in problems):
        return problems
    results, failure = run_loaders(loaders, copy.deepcopy(info))
    if failure is not None:
        # a truncated file was reported already; its decoding error adds
        # nothing
        if not any(p.file == failure.file for p in problems):
            problems.append(failure)
        return problems
    return problems + loaded_problems(results, rule)


def leaf_datasets(dataset: Any) -> Iterator[Any]:
    """The datasets inside dataset wrappers (``ConcatDataset.datasets``,
    ``RepeatDataset.dataset``, ...), built objects."""
    children = getattr(dataset, 'datasets', None)
    if isinstance(children, (list, tuple)):
        for child in children:
            yield from leaf_datasets(child)
    elif hasattr(dataset, 'dataset') and not hasattr(dataset, 'pipeline'):
        yield from leaf_datasets(dataset.dataset)
    else:
        yield dataset


# --------------------------------------------------------------------------
# the whole data of a config
# --------------------------------------------------------------------------
@dataclass
class DatasetReport:
    """One dataset of a config and what the check found in it."""
    key: str
    roles: List[str]
    type: str
    data_root: Optional[str]
    samples: int = 0
    num_classes: Optional[int] = None
    ignore_index: Optional[int] = None
    reduce_zero_label: Optional[bool] = None
    problems: List[SampleProblem] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        out = asdict(self)
        out['problems'] = [asdict(p) for p in self.problems]
        for problem in out['problems']:
            problem['values'] = {str(k): v
                                 for k, v in problem['values'].items()}
        return out


def config_datasets(cfg: Any, splits: Tuple[str, ...] = ('train', 'val',
                                                         'test')
                    ) -> List[Tuple[DatasetReport, dict]]:
    """The (unwrapped) dataset configs of ``cfg``'s data loaders of
    ``splits``, each once (validation and test often share one)."""
    found: Dict[str, Tuple[DatasetReport, dict]] = {}
    for split, loader, role in DATA_LOADERS:
        loader_cfg = cfg.get(loader) if split in splits else None
        if not loader_cfg or not isinstance(loader_cfg.get('dataset'), dict):
            continue
        for key, dataset in leaf_dataset_cfgs(loader_cfg['dataset'],
                                           f'{loader}.dataset'):
            dataset = dataset.to_dict() if hasattr(
                dataset, 'to_dict') else dict(dataset)
            # the same files and pipeline: one dataset
            same = repr(sorted(dataset.items(), key=lambda kv: kv[0]))
            if same in found:
                found[same][0].roles.append(role)
                continue
            report = DatasetReport(
                key, [role], str(dataset.get('type', '?')).split('.')[-1],
                dataset.get('data_root'))
            found[same] = (report, dataset)
    return list(found.values())


def _build(dataset_cfg: dict) -> Any:
    """Build a dataset dict (MMSegmentation's or MMPretrain's) with its
    sample list loaded."""
    dataset = build_dataset(dataset_cfg, lazy_init=False,
                            serialize_data=False)
    if dataset is None:
        raise ValueError(f'the dataset type {dataset_cfg.get("type")!r} is '
                         'registered neither in MMSegmentation nor in '
                         'MMPretrain')
    return dataset


# Set in the parent before the worker processes fork (they inherit it):
# the datasets' sample lists and loaders are not pickled per task.
_WORK: Dict[str, Any] = {}


def _check_task(task: Tuple[int, int]) -> List[SampleProblem]:
    dataset_index, sample_index = task
    dataset, loaders, rule = _WORK['datasets'][dataset_index]
    return sample_problems(dataset.get_data_info(sample_index), loaders,
                           rule)


def _map(tasks: List[Tuple[int, int]], nproc: int,
         progress: Optional[Callable[[], None]]
         ) -> Iterator[List[SampleProblem]]:
    if nproc <= 1 or len(tasks) < 2:
        results: Iterator[List[SampleProblem]] = map(_check_task, tasks)
        for problems in results:
            if progress:
                progress()
            yield problems
        return
    chunk = max(1, min(16, len(tasks) // (4 * nproc)))
    context = multiprocessing.get_context('fork')
    with context.Pool(nproc) as pool:
        for problems in pool.imap(_check_task, tasks, chunksize=chunk):
            if progress:
                progress()
            yield problems


def check_config_data(cfg: Any,
                      splits: Tuple[str, ...] = ('train', 'val', 'test'),
                      nproc: int = 1,
                      progress: bool = False) -> List[DatasetReport]:
    """Decode and check every sample of every dataset of ``cfg``.

    Args:
        cfg: the config (after ``--cfg-options``).
        splits: which data loaders (``train``, ``val``, ``test``).
        nproc: worker processes for the decoding.
        progress: show mmengine's progress bar.

    Returns:
        One :class:`DatasetReport` per distinct dataset, with its problems
        in sample order; a dataset whose layout is broken has one problem
        per layout issue (:func:`~mmtat.checks.dataset_check.
        dataset_problems`) and is not decoded.
    """
    reports = []
    work = []
    for report, dataset_cfg in config_datasets(cfg, splits):
        reports.append(report)
        # labels: checked per sample below, each with its file
        layout = dataset_problems(dataset_cfg, labels=False)
        if layout:
            root = report.data_root or '(no data_root)'
            kind = 'empty' if any('0 samples' in p for p in layout) \
                else 'layout'
            report.problems += [SampleProblem(kind, root, p)
                                for p in layout]
            continue
        dataset = _build(dataset_cfg)
        report.samples = len(dataset)
        if report.samples == 0:
            report.problems.append(SampleProblem(
                'empty', report.data_root or '(no data_root)',
                'gives a dataset of 0 samples'))
            continue
        rule = label_rule(dataset)
        report.num_classes = rule.num_classes
        report.ignore_index = rule.ignore_index
        report.reduce_zero_label = bool(
            getattr(dataset, 'reduce_zero_label', False))
        loaders = [t for _, t in loading_transforms(dataset)]
        work.append((report, dataset, loaders, rule))

    tasks = [(d, i) for d, (_, dataset, _, _) in enumerate(work)
             for i in range(len(dataset))]
    bar = None
    if progress and tasks:
        import sys

        from mmengine.utils import ProgressBar

        # on stderr: stdout is the report
        bar = ProgressBar(len(tasks), file=sys.stderr)
    _WORK['datasets'] = [(dataset, loaders, rule)
                         for _, dataset, loaders, rule in work]
    try:
        for (dataset_index, _), problems in zip(
                tasks, _map(tasks, nproc, bar.update if bar else None)):
            work[dataset_index][0].problems += problems
    finally:
        _WORK.clear()
    if bar is not None:
        bar.file.write('\n')
    return reports


def default_nproc() -> int:
    """Processes for the check: the usable cores, at most 8."""
    return max(1, min(8, usable_cores()))
