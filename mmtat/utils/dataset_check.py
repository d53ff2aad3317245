"""Check the datasets of a config before anything is built.

MMSegmentation builds a dataset from whatever it finds: an empty image
folder gives a dataset of 0 samples, on which training with an
``InfiniteSampler`` waits forever, and a missing label folder fails only
when the first batch is loaded.  :func:`check_datasets` looks at the folders
and split files each dataset of a run will read, in milliseconds (it lists
at most a few files), and raises :class:`~mmtat.utils.InputError` naming the
dataset, the config key, what is missing, the layout it expects and the
tool that prepares it.

The layouts come from :data:`DATASET_LAYOUTS`, keyed by the dataset class
name.  The check itself reads the config (``data_root``, ``data_prefix``,
``ann_file``, and the image / label suffixes, defaulting to the dataset
class's own), so it holds for any dataset built on MMSegmentation's
``BaseSegDataset``; a dataset without an entry is checked the same way, its
message just has no layout hint.  Adding a dataset is one entry.
"""
import inspect
import os
import os.path as osp
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Tuple

from .errors import InputError

__all__ = ['DatasetLayout', 'DATASET_LAYOUTS', 'check_datasets',
           'dataset_problems']

_CONVERTERS = ('MMSegmentation\'s tools/dataset_converters/ (installed with '
               'it under site-packages/mmseg/.mim/tools/dataset_converters/)')


@dataclass(frozen=True)
class DatasetLayout:
    """What a dataset class expects under its ``data_root``.

    Attributes:
        layout: the folders and split files, relative to ``data_root``.
        prepare: how to get them (download, converter script).
    """
    layout: str
    prepare: str


#: MMSegmentation dataset class name -> expected layout and how to make it.
DATASET_LAYOUTS: Dict[str, DatasetLayout] = {
    'PascalVOCDataset': DatasetLayout(
        layout='VOCdevkit/VOC2012 with JPEGImages/*.jpg, '
        'SegmentationClass/*.png and ImageSets/Segmentation/{train,val}.txt; '
        'the augmented training set (VOC aug) also needs '
        'SegmentationClassAug/*.png and ImageSets/Segmentation/aug.txt',
        prepare='download VOC2012 (VOCtrainval_11-May-2012.tar) and SBD '
        '(benchmark.tgz, extracted to VOCdevkit/VOCaug), then run '
        'voc_aug.py data/VOCdevkit data/VOCdevkit/VOCaug --nproc 8 from '
        f'{_CONVERTERS}, which writes SegmentationClassAug and aug.txt'),
    'COCOStuffDataset': DatasetLayout(
        layout='coco_stuff10k with images/{train2014,test2014}/*.jpg and '
        'annotations/{train2014,test2014}/*_labelTrainIds.png (COCO-Stuff '
        '164k: images/ and annotations/ {train2017,val2017})',
        prepare='download cocostuff-10k-v1.1.zip (164k: the 2017 images and '
        'stuffthingmaps_trainval2017.zip), extract it to data/coco_stuff10k '
        '(data/coco_stuff164k) and run coco_stuff10k.py data/coco_stuff10k '
        '--nproc 8 (coco_stuff164k.py) from '
        f'{_CONVERTERS}, which writes the *_labelTrainIds.png'),
    'CityscapesDataset': DatasetLayout(
        layout='cityscapes with leftImg8bit/{train,val}/<city>/'
        '*_leftImg8bit.png and gtFine/{train,val}/<city>/'
        '*_gtFine_labelTrainIds.png',
        prepare='download leftImg8bit_trainvaltest.zip and '
        'gtFine_trainvaltest.zip from https://www.cityscapes-dataset.com, '
        'extract both to data/cityscapes and run cityscapes.py '
        f'data/cityscapes --nproc 8 from {_CONVERTERS}, which writes the '
        '*_gtFine_labelTrainIds.png'),
    'ADE20KDataset': DatasetLayout(
        layout='ADEChallengeData2016 with images/{training,validation}/*.jpg '
        'and annotations/{training,validation}/*.png',
        prepare='download ADEChallengeData2016.zip (the SceneParsing '
        'benchmark) and extract it to data/ade; it needs no conversion'),
}

_LOADERS = (('train_dataloader', 'training'), ('val_dataloader',
                                                'validation'),
            ('test_dataloader', 'test'))


def _leaf_datasets(node: Any, key: str) -> Iterator[Tuple[str, dict]]:
    """``(config key, dataset dict)`` of the datasets inside wrappers
    (``ConcatDataset.datasets``, ``RepeatDataset.dataset``, ...)."""
    if not isinstance(node, dict):
        return
    if isinstance(node.get('datasets'), (list, tuple)):
        for index, child in enumerate(node['datasets']):
            yield from _leaf_datasets(child, f'{key}.datasets.{index}')
    elif isinstance(node.get('dataset'), dict):
        yield from _leaf_datasets(node['dataset'], f'{key}.dataset')
    else:
        yield key, node


def _class_name(dataset: dict) -> str:
    return str(dataset.get('type', '?')).split('.')[-1]


def _class_defaults(dataset: dict) -> Dict[str, Any]:
    """``img_suffix`` / ``seg_map_suffix`` defaults of the dataset class
    (empty when the class cannot be found in MMSegmentation's registry)."""
    try:
        from mmseg.registry import DATASETS
        cls = DATASETS.get(dataset.get('type'))
    except Exception:  # not registered, registry not importable
        cls = None
    if cls is None:
        return {}
    defaults = {}
    for klass in inspect.getmro(cls):
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        for name, param in inspect.signature(init).parameters.items():
            if (name in ('img_suffix', 'seg_map_suffix')
                    and name not in defaults
                    and param.default is not inspect.Parameter.empty):
                defaults[name] = param.default
    return defaults


def _first_file(directory: str, suffix: str) -> Optional[str]:
    """A file below ``directory`` ending with ``suffix`` (relative path),
    found without listing more than needed."""
    for root, dirs, files in os.walk(directory, followlinks=True):
        dirs.sort()
        for name in sorted(files):
            if name.endswith(suffix):
                return osp.relpath(osp.join(root, name), directory)
    return None


def _join(root: str, path: str) -> str:
    return path if (not root or osp.isabs(path)) else osp.join(root, path)


def dataset_problems(dataset: dict) -> List[str]:
    """What is missing for one (unwrapped) dataset dict; empty if nothing."""
    root = dataset.get('data_root') or ''
    if '://' in root or dataset.get('backend_args'):
        return []  # remote storage: nothing to look at locally
    if root and not osp.isdir(root):
        return [f'data_root {root} does not exist']
    prefix = dataset.get('data_prefix') or {}
    defaults = _class_defaults(dataset)
    img_suffix = dataset.get('img_suffix', defaults.get('img_suffix'))
    seg_suffix = dataset.get('seg_map_suffix',
                             defaults.get('seg_map_suffix'))
    img_dir = _join(root, prefix.get('img_path') or '')
    seg_rel = prefix.get('seg_map_path')
    seg_dir = _join(root, seg_rel) if seg_rel else None
    problems = []
    for name, folder in (('image', img_dir), ('label', seg_dir)):
        if folder is not None and not osp.isdir(folder):
            problems.append(f'the {name} folder {folder} does not exist')
    if problems:
        return problems

    ann_file = dataset.get('ann_file')
    if ann_file:
        ann_path = _join(root, ann_file)
        if not osp.isfile(ann_path):
            return [f'the split file {ann_path} does not exist']
        with open(ann_path) as f:
            names = [line.strip() for line in f if line.strip()]
        if not names:
            return [f'the split file {ann_path} lists no images']
        # the first and last entries: a split file of another layout (or
        # a half-copied folder) shows up there
        for name in dict.fromkeys([names[0], names[-1]]):
            if img_suffix is not None:
                image = osp.join(img_dir, name + img_suffix)
                if not osp.isfile(image):
                    problems.append(f'{ann_path} lists "{name}", but the '
                                    f'image {image} does not exist')
            if seg_dir is not None and seg_suffix is not None:
                label = osp.join(seg_dir, name + seg_suffix)
                if not osp.isfile(label):
                    problems.append(f'{ann_path} lists "{name}", but its '
                                    f'label map {label} does not exist')
        return problems

    if img_suffix is None:
        return problems
    image = _first_file(img_dir, img_suffix)
    if image is None:
        return [f'the image folder {img_dir} holds no *{img_suffix} images '
                '(a dataset of 0 samples)']
    if seg_dir is not None and seg_suffix is not None:
        label = osp.join(seg_dir, image[:-len(img_suffix)] + seg_suffix)
        if not osp.isfile(label):
            problems.append(f'the image {osp.join(img_dir, image)} has no '
                            f'label map {label} (label files end with '
                            f'"{seg_suffix}")')
    return problems


def check_datasets(cfg: Any, mode: str = 'train') -> None:
    """Refuse a run whose datasets are missing, empty or half-prepared.

    Args:
        cfg: the run's config (after ``--cfg-options``).
        mode: ``'train'`` checks the training and validation data,
            ``'test'`` the test data.

    Raises:
        InputError: one paragraph naming each bad dataset (class, config
            key, data_root), what is missing, the expected layout, the
            tool that prepares it and the option that points elsewhere.
    """
    if mode not in ('train', 'test'):
        raise ValueError(f'mode must be train or test, got {mode!r}')
    loaders = _LOADERS[:2] if mode == 'train' else _LOADERS[2:]
    if mode == 'train' and not cfg.get('val_cfg'):
        loaders = loaders[:1]
    # datasets that fail the same way (a data_root shared by the training
    # and validation sets) are reported together
    groups: Dict[Tuple[str, ...], List[Tuple[str, str, str]]] = {}
    for loader, role in loaders:
        loader_cfg = cfg.get(loader)
        if not loader_cfg or not isinstance(loader_cfg.get('dataset'),
                                            dict):
            continue
        for key, dataset in _leaf_datasets(loader_cfg['dataset'],
                                           f'{loader}.dataset'):
            problems = dataset_problems(dataset)
            if problems:
                groups.setdefault(tuple(problems), []).append(
                    (role, _class_name(dataset), key))
    sentences = []
    names: List[str] = []
    for problems, where in groups.items():
        roles = ' and '.join(dict.fromkeys(role for role, _, _ in where))
        classes = ', '.join(dict.fromkeys(name for _, name, _ in where))
        keys = ', '.join(key for _, _, key in where)
        sentences.append(f'The {roles} data ({classes}: {keys}) is not '
                         'usable: ' + '; '.join(problems) + '.')
        for _, name, _ in where:
            if name not in names:
                names.append(name)
    layouts = [(n, DATASET_LAYOUTS[n]) for n in names if n in DATASET_LAYOUTS]
    if not sentences:
        return
    text = ' '.join(sentences)
    for name, entry in layouts:
        text += f' {name} expects {entry.layout}; to prepare it, ' \
                f'{entry.prepare}.'
    text += (' If the data is elsewhere, point the config at it with '
             '--cfg-options KEY.data_root=/path (KEY as named above). '
             'Nothing was started.')
    raise InputError(text)
