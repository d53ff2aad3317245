"""Published results of released models, from the OpenMMLab metafiles.

A distillation run validates its teacher next to the student
(``teacher.mIoU``).  A teacher whose weights are not the ones the config
describes (another model's checkpoint, a partial load) scores far below the
figure its release states; :func:`published_teacher_miou` finds that figure
for a teacher checkpoint by its file name, in mmtat's metafiles
(``Metadata.Teacher`` of ``configs/*/metafile.yml``) and then in
MMSegmentation's (``mmseg/.mim/configs/*/metafile.yaml``, ``Weights`` and
``Results``), so that the log can put the two side by side.
"""
import glob
import os.path as osp
import urllib.parse
from dataclasses import dataclass
from typing import Any, Iterator, Optional, Tuple

__all__ = ['PublishedResult', 'published_teacher_miou']


@dataclass(frozen=True)
class PublishedResult:
    """A released model's mIoU and where it is stated.

    Attributes:
        miou: the published mIoU (percent).
        model: the model's name in the metafile.
        source: the metafile, as a path a reader can open.
    """
    miou: float
    model: str
    source: str


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


def _miou(results: Any) -> Optional[float]:
    """``Results`` of a metafile entry: a dict or a list of them."""
    for result in results if isinstance(results, list) else [results]:
        value = ((result or {}).get('Metrics') or {}).get('mIoU')
        if isinstance(value, (int, float)):
            return float(value)
    return None


def _mmtat_teachers(name: str) -> Optional[PublishedResult]:
    from ..utils.package_files import mim_dir
    configs = osp.join(mim_dir(), 'configs')
    for path, model in _yaml_models(osp.join(configs, '*', 'metafile.yml')):
        teacher = (model.get('Metadata') or {}).get('Teacher') or {}
        miou = (teacher.get('Metrics') or {}).get('mIoU')
        if (_file_name(teacher.get('Weights')) == name
                and isinstance(miou, (int, float))):
            rel = osp.relpath(path, osp.dirname(configs))
            return PublishedResult(float(miou), str(teacher.get(
                'Config', model.get('Name'))), f'mmtat\'s {rel}')
    return None


def _mmseg_models(name: str) -> Optional[PublishedResult]:
    try:
        import mmseg
    except ImportError:
        return None
    configs = osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs')
    for path, model in _yaml_models(osp.join(configs, '*',
                                             'metafile.yaml')):
        miou = _miou(model.get('Results'))
        if _file_name(model.get('Weights')) == name and miou is not None:
            rel = osp.relpath(path, osp.dirname(configs))
            return PublishedResult(miou, str(model.get('Name')),
                                   f'MMSegmentation\'s {rel}')
    return None


def published_teacher_miou(teacher_ckpt: Any) -> Optional[PublishedResult]:
    """The published mIoU of the model whose released weights are the file
    ``teacher_ckpt`` names (a URL or a local copy with the release's file
    name); None when no metafile states one."""
    name = _file_name(teacher_ckpt)
    if not name:
        return None
    return _mmtat_teachers(name) or _mmseg_models(name)
