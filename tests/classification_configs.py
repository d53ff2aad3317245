"""The shipped image classification configs (ImageNet-1k on MMPretrain's
networks: their metafile entries' task is ``Image Classification``) and a
random classification batch.

The segmentation config tests leave these configs out; their own tests are
tests/test_configs/test_classification_configs.py (build, step, protocol)
and the classification cases of the model tests."""
import functools
import os.path as osp
from typing import List, Tuple

import yaml

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
METAFILES = ('configs/tat/metafile.yml', 'configs/baselines/metafile.yml')
TASK = 'Image Classification'
#: the ImageNet-1k metrics of a metafile entry, MMPretrain's names
METRICS = ('Top 1 Accuracy', 'Top 5 Accuracy')


@functools.lru_cache(maxsize=None)
def _entries() -> Tuple[dict, ...]:
    found = []
    for path in METAFILES:
        with open(osp.join(REPO, path)) as f:
            found += yaml.safe_load(f)['Models']
    return tuple(found)


def classification_entries() -> List[dict]:
    """The metafile entries of the classification configs."""
    return [m for m in _entries()
            if any(r['Task'] == TASK for r in m['Results'])]


def classification_configs() -> List[str]:
    """Their config paths, relative to the repository, sorted."""
    return sorted(m['Config'] for m in classification_entries())


def is_classification(path: str) -> bool:
    """Whether ``path`` (relative or absolute) is a classification config."""
    return osp.relpath(osp.join(REPO, path),
                       REPO) in set(classification_configs())


def random_cls_batch(size: int,
                     num_classes: int = 1000,
                     batch_size: int = 2,
                     seed: int = 0) -> dict:
    """``dict(inputs=[...], data_samples=[...])`` of ``batch_size`` random
    ``size`` x ``size`` uint8 images with labels in ``[0, num_classes)``,
    as MMPretrain's data loader hands them to a pre-processor."""
    import torch
    from mmpretrain.structures import DataSample

    gen = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (batch_size, 3, size, size),
                           generator=gen, dtype=torch.uint8)
    labels = torch.randint(0, num_classes, (batch_size, ), generator=gen)
    return dict(
        inputs=list(images),
        data_samples=[
            DataSample(metainfo=dict(img_shape=(size, size),
                                     ori_shape=(size, size))).set_gt_label(
                                         int(label)) for label in labels
        ])


@functools.lru_cache(maxsize=None)
def _mmpretrain_models(folder: str) -> Tuple[dict, ...]:
    import importlib.util
    spec = importlib.util.find_spec('mmpretrain')
    root = list(spec.submodule_search_locations)[0]
    with open(osp.join(root, '.mim', 'configs', folder, 'metafile.yml')) as f:
        return tuple(yaml.safe_load(f)['Models'])


def mmpretrain_release(config: str) -> dict:
    """The entry of ``mmpretrain::<folder>/<name>.py`` in MMPretrain's
    installed metafile (read without importing mmpretrain): ``Weights``
    and ``Metrics`` (its ImageNet-1k result)."""
    folder, name = config.split('::', 1)[1].rsplit('/', 1)
    (model, ) = [m for m in _mmpretrain_models(folder)
                 if m['Config'] == f'configs/{folder}/{name}']
    (result, ) = [r for r in model['Results']
                  if r['Dataset'] == 'ImageNet-1k']
    return dict(Weights=model['Weights'], Metrics=result['Metrics'])
