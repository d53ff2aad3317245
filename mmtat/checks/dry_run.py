"""Shrink a real training config to a dry run on generated data.

A dry run trains a shipped config for a couple of iterations on a small
generated dataset in the config's own on-disk layout
(:mod:`mmtat.datasets.synthetic`), offline and on the CPU: the tests use it
to show that every config builds and trains, ``tools/reproduce.py
--dry-run`` to rehearse a whole table, and the demo for its CPU runs.
Only run-time quantities change: data roots, crop and resize scales (by
one factor, so aspect ratios stay), batch size, iterations and the
schedule's length, workers, checkpoint and log intervals, SyncBN -> BN,
downloads switched off. Networks, losses, distillers, optimisers and
learning-rate policies are the config's own.

Classification configs (MMPretrain's ``ImageNet``, trained by epochs) get
the same treatment: the crop is the training pipeline's
(``RandomResizedCrop``; ``ResizeEdge`` and ``CenterCrop`` shrink by the
same factor, and a distiller's ``input_size`` becomes the crop), the
epoch-based loop becomes the iteration-based one of the dry run, and an
epoch-based learning-rate policy counts one epoch per iteration (a
warm-up of 5 epochs spans 5 iterations, so it is cut off at the last
one).  ImageNet-pretrained weights (``init_cfg``, ``pretrained``,
a ``cfg_path`` model's ``pretrained=True``, which would fetch the weights
its metafile names) and teacher checkpoints are dropped, as for
segmentation.
"""
import copy
import math
import os.path as osp
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

__all__ = [
    'SYNTHETIC_DATASETS', 'dataset_type', 'make_dry_run_dataset',
    'dry_run_crop', 'shrink_for_dry_run'
]



def _layout_kinds() -> Dict[str, str]:
    """dataset type -> the kind of its generated stand-in (a key of
    :data:`mmtat.datasets.SYNTHETIC_LAYOUTS`)."""
    from mmtat.datasets import SYNTHETIC_LAYOUTS
    return {layout.dataset: kind for kind, layout in SYNTHETIC_LAYOUTS.items()}


#: Dataset types that have a generated stand-in.
SYNTHETIC_DATASETS = tuple(_layout_kinds())


def dataset_type(cfg: Any) -> str:
    """The dataset type of ``cfg``'s training data (inside wrappers)."""
    from .dataset_check import _leaf_datasets
    dataset = cfg.get('train_dataloader', {}).get('dataset', {})
    for _, leaf in _leaf_datasets(dataset, 'train_dataloader.dataset'):
        return str(leaf.get('type', 'unknown')).split('.')[-1]
    return 'unknown'


def make_dry_run_dataset(cfg: Any, root: str, num_train: int = 4,
                         num_val: int = 2) -> str:
    """Generate a small dataset in the layout ``cfg`` reads, under ``root``
    (idempotent), and return its ``data_root``."""
    from mmtat.datasets import make_synthetic_dataset
    kinds = _layout_kinds()
    dataset = dataset_type(cfg)
    if dataset not in kinds:
        raise ValueError(
            f'no generated stand-in for {dataset}; dry runs support '
            f'{", ".join(SYNTHETIC_DATASETS)}')
    return make_synthetic_dataset(
        kinds[dataset], root, num_train=num_train, num_val=num_val, seed=0)


#: classification transforms -> the key of their output size; an int is a
#: square, a pair is (width, height) (MMPretrain's convention)
_CLS_CROPS = {'RandomResizedCrop': 'scale', 'CenterCrop': 'crop_size',
              'EfficientNetRandomCrop': 'scale',
              'EfficientNetCenterCrop': 'crop_size'}


def _as_height_width(size: Any) -> Tuple[int, int]:
    """An MMPretrain size (int, or (width, height)) as (height, width)."""
    if isinstance(size, (tuple, list)):
        return int(size[1]), int(size[0])
    return int(size), int(size)


def _pipeline_crop(cfg: Any) -> Optional[Tuple[int, int]]:
    """The output size of the training pipeline's classification crop."""
    dataset = cfg.get('train_dataloader', {}).get('dataset', {})
    from .dataset_check import _leaf_datasets
    for _, leaf in _leaf_datasets(dataset, 'train_dataloader.dataset'):
        for transform in leaf.get('pipeline') or []:
            key = _CLS_CROPS.get(str(transform.get('type', '')).split(
                '.')[-1])
            if key and transform.get(key) is not None:
                return _as_height_width(transform[key])
    return None


def _config_crop(cfg: Any) -> Tuple[int, int]:
    size = None
    model = cfg.get('model', {})
    preprocessor = model.get('data_preprocessor') or {}
    if preprocessor.get('size') is not None:
        size = preprocessor['size']
    elif cfg.get('crop_size') is not None:
        size = cfg.crop_size
    else:
        size = _pipeline_crop(cfg)
    if size is None:
        raise ValueError('the config names no crop (data_preprocessor.size, '
                         'crop_size or a RandomResizedCrop / CenterCrop of '
                         'its training pipeline)')
    return int(size[0]), int(size[1])


def _cls_size(crop: Tuple[int, int]) -> Any:
    """``crop`` (height, width) as an MMPretrain size."""
    return crop[0] if crop[0] == crop[1] else (crop[1], crop[0])


def _epochs_as_iterations(scheduler: dict) -> None:
    """An epoch-based learning-rate policy with one epoch per iteration."""
    if scheduler.get('by_epoch', True):
        scheduler['by_epoch'] = False
        scheduler.pop('convert_to_iter_based', None)


def dry_run_crop(cfg: Any, height: int = 128) -> Tuple[int, int]:
    """A crop of ``height`` rows with the aspect of the config's crop."""
    crop_h, crop_w = _config_crop(cfg)
    return height, max(1, round(height * crop_w / crop_h))


def _walk(node: Any, fn: Callable[[dict], None]) -> None:
    if isinstance(node, dict):
        fn(node)
        for value in node.values():
            _walk(value, fn)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _walk(value, fn)


def _scaled(value: Sequence[int], factor: float) -> Tuple[int, ...]:
    return tuple(max(1, round(v * factor)) for v in value)


def shrink_for_dry_run(cfg: Any,
                       *,
                       data_root: str,
                       work_dir: str,
                       crop: Optional[Tuple[int, int]] = None,
                       iters: int = 2,
                       batch_size: int = 2,
                       seed: int = 0,
                       validate: bool = True,
                       checkpoint: bool = True,
                       log_interval: int = 1,
                       name: Optional[str] = None) -> Any:
    """Return a copy of ``cfg`` that trains ``iters`` iterations on the
    generated dataset at ``data_root`` on the CPU, offline.

    Args:
        cfg: an mmengine ``Config`` as shipped.
        data_root: a dataset made by :func:`make_dry_run_dataset`.
        work_dir: where the run writes.
        crop: ``(H, W)``; defaults to :func:`dry_run_crop`.
        iters: training iterations (the schedule ends there).
        batch_size: images per iteration (at least 2: DeepLabV3's image
            pooling branch trains a BatchNorm on a 1x1 map).
        seed: the run's random seed.
        validate: validate after the last iteration.
        checkpoint: save a checkpoint after the last iteration.
        log_interval: log every this many iterations.
        name: visualizer / experiment name (unique per process).
    """
    from .remote_files import make_offline

    cfg = copy.deepcopy(cfg)
    crop = tuple(crop) if crop is not None else dry_run_crop(cfg)
    factor = crop[0] / _config_crop(cfg)[0]
    if cfg.model.get('teacher_ckpt'):
        # a released teacher or one trained first: random weights instead
        # (make_offline then also drops the teacher's own pretrained init)
        cfg.model.teacher_ckpt = None
    make_offline(cfg, mode='train')

    def shrink(node: dict) -> None:
        kind = str(node.get('type', '')).split('.')[-1]
        if kind == 'SyncBN':
            node['type'] = 'BN'  # one process on a CPU
        if 'data_root' in node:
            node['data_root'] = data_root
        if 'cfg_path' in node and node.get('pretrained') is True:
            # mmengine.hub.get_model would fetch the metafile's weights
            node['pretrained'] = False
        if kind.endswith('Distiller') and node.get('input_size') is not None:
            # a classifier's crop, given to TaTClsDistiller
            node['input_size'] = crop
        if kind in _CLS_CROPS and node.get(_CLS_CROPS[kind]) is not None:
            node[_CLS_CROPS[kind]] = _cls_size(crop)
        elif kind == 'ResizeEdge' and 'scale' in node:
            node['scale'] = max(1, round(node['scale'] * factor))
        if kind in ('RandomResize', 'Resize') and 'scale' in node:
            node['scale'] = _scaled(node['scale'], factor)
        elif kind == 'RandomChoiceResize':
            # short sides (ints) or (w, h) scales; a list shrinks to the
            # distinct values
            node['scales'] = sorted({
                _scaled(s, factor) if isinstance(s, (tuple, list)) else
                max(1, round(s * factor))
                for s in node['scales']
            })
            if node.get('max_size'):
                node['max_size'] = max(1, round(node['max_size'] * factor))
        elif kind == 'ResizeForScoring':
            node['size'] = crop
        elif kind == 'RandomCrop':
            node['crop_size'] = crop
        elif kind == 'Pad' and 'size' in node:
            node['size'] = crop
        elif kind == 'SegDataPreProcessor':
            node['size'] = crop
        test_cfg = node.get('test_cfg')
        if isinstance(test_cfg, dict) and test_cfg.get('mode') == 'slide':
            test_cfg['crop_size'] = _scaled(test_cfg['crop_size'], factor)
            test_cfg['stride'] = _scaled(test_cfg['stride'], factor)

    for key in ('model', 'train_dataloader', 'val_dataloader',
                'test_dataloader'):
        if key in cfg:
            _walk(cfg[key], shrink)
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    cfg.load_from = None
    cfg.resume = False
    cfg.randomness = dict(seed=seed)
    cfg.env_cfg = dict(cfg.get('env_cfg', {}), cudnn_benchmark=False)
    cfg.env_cfg['dist_cfg'] = dict(backend='gloo')
    cfg.train_dataloader.batch_size = batch_size
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if key in cfg:
            cfg[key].num_workers = 0
            cfg[key].persistent_workers = False
    cfg.train_cfg = dict(
        type='IterBasedTrainLoop',
        max_iters=iters,
        val_interval=iters if validate else iters + 1)
    schedulers = cfg.param_scheduler
    if isinstance(schedulers, dict):
        schedulers = [schedulers]
    for scheduler in schedulers:
        _epochs_as_iterations(scheduler)
        # warm-ups and decays are squeezed into ``iters``
        for key in ('begin', 'end'):
            if scheduler.get(key, -math.inf) > iters:
                scheduler[key] = iters
    cfg.param_scheduler = [
        s for s in schedulers if s.get('begin', 0) < s.get('end', math.inf)
    ]
    # iterations, not epochs, in the log (MMPretrain's runtime logs by
    # epoch): the results collection reads "Iter(train) [i/n]" lines
    cfg.log_processor = dict(cfg.get('log_processor') or {}, by_epoch=False)
    hooks = cfg.default_hooks
    hooks.logger = dict(
        hooks.get('logger', {}),
        type='LoggerHook',
        interval=log_interval,
        log_metric_by_epoch=False)
    hooks.checkpoint = dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=iters,
        save_last=checkpoint,
        max_keep_ckpts=1)
    if not checkpoint:
        hooks.checkpoint.interval = iters + 1
    name = name or osp.basename(osp.normpath(work_dir))
    cfg.experiment_name = name
    if 'visualizer' in cfg:
        cfg.visualizer = dict(cfg.visualizer, name=name)
    return cfg
