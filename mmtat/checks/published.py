"""Published results of released models, from the OpenMMLab metafiles.

A distillation run validates its teacher next to the student
(``teacher.mIoU`` for segmentation, ``teacher.accuracy/top1`` for
classification).  A teacher whose weights are not the ones the config
describes (another model's checkpoint, a partial load) scores far below the
figure its release states; :func:`published_teacher_result` finds that
figure for a teacher checkpoint by its file name, in mmtat's metafiles
(``Metadata.Teacher`` of ``configs/*/metafile.yml``), then in
MMSegmentation's (``mmseg/.mim/configs/*/metafile.yaml``: mIoU) and
MMPretrain's (``mmpretrain/.mim/configs/*/metafile.yml``: top-1 accuracy),
``Weights`` and ``Results``, so that the log can put the two side by side.
:func:`published_teacher_miou` is the same search for mIoU only.
"""
import glob
import os.path as osp
import urllib.parse
from dataclasses import dataclass
from typing import Any, Iterator, Optional, Tuple

__all__ = ['PublishedResult', 'published_teacher_miou',
           'published_teacher_result']

#: metafile metric -> how messages name it, in the order looked for
_METRICS = (('mIoU', 'mIoU'), ('Top 1 Accuracy', 'top-1'))


@dataclass(frozen=True)
class PublishedResult:
    """A released model's published figure and where it is stated.

    Attributes:
        value: the published figure (percent): mIoU for a segmentor, top-1
            accuracy for a classifier.
        model: the model's name in the metafile.
        source: the metafile, as a path a reader can open.
        metric: which figure it is, as messages name it (``mIoU``,
            ``top-1``).
    """
    value: float
    model: str
    source: str
    metric: str = 'mIoU'

    @property
    def miou(self) -> float:
        """The value of a segmentation result (its mIoU)."""
        return self.value


def _file_name(path: Any) -> str:
    if not isinstance(path, str) or not path:
        return ''
    return osp.basename(urllib.parse.urlparse(path).path)


def _yaml_models(pattern: str) -> Iterator[Tuple[str, dict]]:
    import yaml
    loader = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)
    for path in sorted(glob.glob(pattern)):
        with open(path) as f:
            content = yaml.load(f, Loader=loader) or {}
        for model in content.get('Models') or []:
            if isinstance(model, dict):
                yield path, model


def _metric(metrics: Any,
            wanted: Tuple[str, ...]) -> Optional[Tuple[float, str]]:
    """``(value, name)`` of the first of the ``wanted`` metafile metrics
    that ``metrics`` (a ``Metrics`` dict) states."""
    for key, name in _METRICS:
        value = (metrics or {}).get(key) if key in wanted else None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value), name
    return None


def _result(results: Any,
            wanted: Tuple[str, ...]) -> Optional[Tuple[float, str]]:
    """``Results`` of a metafile entry: a dict or a list of them."""
    for result in results if isinstance(results, list) else [results]:
        found = _metric((result or {}).get('Metrics'), wanted)
        if found is not None:
            return found
    return None


def _mmtat_teachers(name: str,
                    wanted: Tuple[str, ...]) -> Optional[PublishedResult]:
    from ..utils.package_files import mim_dir
    configs = osp.join(mim_dir(), 'configs')
    for path, model in _yaml_models(osp.join(configs, '*', 'metafile.yml')):
        teacher = (model.get('Metadata') or {}).get('Teacher') or {}
        found = _metric(teacher.get('Metrics'), wanted)
        if _file_name(teacher.get('Weights')) == name and found:
            rel = osp.relpath(path, osp.dirname(configs))
            return PublishedResult(found[0], str(teacher.get(
                'Config', model.get('Name'))), f'mmtat\'s {rel}', found[1])
    return None


def _package_models(package: str, label: str, pattern: str, name: str,
                    wanted: Tuple[str, ...]) -> Optional[PublishedResult]:
    """The entry of an OpenMMLab package's metafiles whose ``Weights`` are
    the file ``name``."""
    try:
        module = __import__(package)
    except ImportError:
        return None
    configs = osp.join(osp.dirname(module.__file__), '.mim', 'configs')
    for path, model in _yaml_models(osp.join(configs, '*', pattern)):
        if _file_name(model.get('Weights')) != name:
            continue
        found = _result(model.get('Results'), wanted)
        if found is not None:
            rel = osp.relpath(path, osp.dirname(configs))
            return PublishedResult(found[0], str(model.get('Name')),
                                   f'{label}\'s {rel}', found[1])
    return None


def _published(teacher_ckpt: Any,
               wanted: Tuple[str, ...]) -> Optional[PublishedResult]:
    name = _file_name(teacher_ckpt)
    if not name:
        return None
    found = _mmtat_teachers(name, wanted)
    if found is None and 'mIoU' in wanted:
        found = _package_models('mmseg', 'MMSegmentation', 'metafile.yaml',
                                name, wanted)
    if found is None and 'Top 1 Accuracy' in wanted:
        found = _package_models('mmpretrain', 'MMPretrain', 'metafile.yml',
                                name, wanted)
    return found


def published_teacher_result(
        teacher_ckpt: Any) -> Optional[PublishedResult]:
    """The published figure of the model whose released weights are the
    file ``teacher_ckpt`` names (a URL or a local copy with the release's
    file name): the mIoU of a segmentor, the top-1 accuracy of a
    classifier; None when no metafile states one."""
    return _published(teacher_ckpt, ('mIoU', 'Top 1 Accuracy'))


def published_teacher_miou(teacher_ckpt: Any) -> Optional[PublishedResult]:
    """The published mIoU of the model whose released weights are the file
    ``teacher_ckpt`` names; None when no metafile states one (also for a
    classifier: see :func:`published_teacher_result`)."""
    return _published(teacher_ckpt, ('mIoU', ))
