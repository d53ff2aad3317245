"""The generated datasets load through MMSegmentation's own dataset classes."""
import hashlib
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

import mmtat  # noqa: F401  (compat fixes before mmseg/mmrazor)
from mmtat.datasets import (
    ADE20K_CLASSES,
    CAMVID_CLASSES,
    CITYSCAPES_CLASSES,
    COCOSTUFF_CLASSES,
    IMAGENET_CLASSES,
    SYNTHETIC_LAYOUTS,
    VOC_CLASSES,
    make_synthetic_ade20k,
    make_synthetic_camvid,
    make_synthetic_cityscapes,
    make_synthetic_cocostuff10k,
    make_synthetic_dataset,
    make_synthetic_imagenet,
    make_synthetic_voc,
)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SIZE = (48, 64)  # (height, width): not square, to catch swapped axes

LOAD = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
]


def _build(cfg):
    from mmengine.registry import DefaultScope
    from mmseg.registry import DATASETS
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    # the pipelines' transforms resolve in the default scope: mmseg's
    with DefaultScope.overwrite_default_scope('mmseg'):
        return DATASETS.build(cfg)


def _digest(root):
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                out[osp.relpath(path, root)] = hashlib.sha256(
                    f.read()).hexdigest()
    return out


def _voc_dataset(data_root, seg_dir, ann_file):
    return _build(
        dict(
            type='PascalVOCDataset',
            data_root=data_root,
            data_prefix=dict(img_path='JPEGImages', seg_map_path=seg_dir),
            ann_file=ann_file,
            pipeline=LOAD))


def test_voc_layout_loads_with_mmseg(tmp_path):
    data_root = make_synthetic_voc(
        str(tmp_path), num_train=6, num_val=3, image_size=SIZE, seed=1)
    assert data_root == osp.join(str(tmp_path), 'VOCdevkit', 'VOC2012')

    train = _voc_dataset(data_root, 'SegmentationClass',
                         'ImageSets/Segmentation/train.txt')
    val = _voc_dataset(data_root, 'SegmentationClass',
                       'ImageSets/Segmentation/val.txt')
    aug = _voc_dataset(data_root, 'SegmentationClassAug',
                       'ImageSets/Segmentation/aug.txt')
    assert (len(train), len(val), len(aug)) == (6, 3, 6)
    assert train.metainfo['classes'][0] == 'background'

    seen = set()
    for dataset, ring in ((train, True), (val, True), (aug, False)):
        for i in range(len(dataset)):
            item = dataset[i]
            assert item['img'].shape == SIZE + (3, )
            assert item['img'].dtype == np.uint8
            seg = item['gt_seg_map']
            assert seg.shape == SIZE
            values = set(np.unique(seg).tolist())
            allowed = set(VOC_CLASSES) | ({255} if ring else set())
            assert values <= allowed, values
            assert (255 in values) == ring
            seen |= values
    # all the classes occur, with the names mmseg gives them
    assert set(VOC_CLASSES) <= seen
    for index, name in VOC_CLASSES.items():
        assert train.metainfo['classes'][index] == name

    # the aug config's ConcatDataset of train + aug builds as well
    concat = _build(
        dict(
            type='ConcatDataset',
            datasets=[
                dict(
                    type='PascalVOCDataset',
                    data_root=data_root,
                    data_prefix=dict(
                        img_path='JPEGImages', seg_map_path=seg),
                    ann_file=f'ImageSets/Segmentation/{split}.txt',
                    pipeline=LOAD)
                for seg, split in (('SegmentationClass', 'train'),
                                   ('SegmentationClassAug', 'aug'))
            ]))
    assert len(concat) == 12


def test_cocostuff10k_layout_loads_with_mmseg(tmp_path):
    data_root = make_synthetic_cocostuff10k(
        str(tmp_path), num_train=5, num_val=4, image_size=SIZE, seed=2)
    assert data_root == osp.join(str(tmp_path), 'coco_stuff10k')
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', reduce_zero_label=True)
    ]
    datasets = {}
    for split, sub in (('train', 'train2014'), ('val', 'test2014')):
        # exactly the dataset dicts of mmseg's _base_/datasets/coco-stuff10k
        datasets[split] = _build(
            dict(
                type='COCOStuffDataset',
                data_root=data_root,
                reduce_zero_label=True,
                data_prefix=dict(
                    img_path=f'images/{sub}',
                    seg_map_path=f'annotations/{sub}'),
                pipeline=pipeline))
    assert len(datasets['train']) == 5 and len(datasets['val']) == 4
    classes = datasets['train'].metainfo['classes']
    assert len(classes) == 171
    for index, name in COCOSTUFF_CLASSES.items():
        assert classes[index] == name

    seen = set()
    for dataset in datasets.values():
        for i in range(len(dataset)):
            item = dataset[i]
            assert item['img'].shape == SIZE + (3, )
            seg = item['gt_seg_map']
            assert seg.shape == SIZE and seg.dtype == np.uint8
            values = set(np.unique(seg).tolist())
            assert values <= set(COCOSTUFF_CLASSES) | {255}, values
            seen |= values
    assert set(COCOSTUFF_CLASSES) | {255} == seen
    with open(osp.join(data_root, 'imageLists', 'test.txt')) as f:
        assert len(f.read().split()) == 4


MAKERS = [make_synthetic_voc, make_synthetic_cocostuff10k,
          make_synthetic_cityscapes, make_synthetic_camvid,
          make_synthetic_ade20k, make_synthetic_imagenet]


def test_every_layout_has_its_writer_and_unknown_kinds_are_refused(
        tmp_path):
    import mmtat.datasets as datasets
    assert set(SYNTHETIC_LAYOUTS) == {
        'voc', 'cocostuff10k', 'cityscapes', 'camvid', 'ade20k',
        'imagenet'}
    for kind in SYNTHETIC_LAYOUTS:
        assert getattr(datasets, f'make_synthetic_{kind}') in MAKERS
    with pytest.raises(ValueError, match="no synthetic layout 'ade'; "
                       'layouts: ade20k, camvid'):
        make_synthetic_dataset('ade', str(tmp_path))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize('maker', MAKERS)
def test_deterministic_and_seeded(tmp_path, maker):
    kwargs = dict(num_train=4, num_val=2, image_size=40, seed=3)
    first = _digest(maker(str(tmp_path / 'a'), **kwargs))
    second = _digest(maker(str(tmp_path / 'b'), **kwargs))
    assert first == second
    assert len(first) > 8  # 6 images, their split files, the marker
    other = _digest(maker(str(tmp_path / 'c'), **dict(kwargs, seed=4)))
    assert other.keys() == first.keys()
    # VOC / COCO JPEGs, Cityscapes leftImg8bit, CamVid {train,val,test}/,
    # ImageNet *.JPEG
    images = [k for k in first
              if k.endswith(('.jpg', '.JPEG', '_leftImg8bit.png'))
              or k.split(os.sep)[0] in ('train', 'val', 'test')]
    assert images and all(other[k] != first[k] for k in images)


def test_idempotent_and_refuses_foreign_dirs(tmp_path):
    kwargs = dict(num_train=2, num_val=1, image_size=32)
    data_root = make_synthetic_voc(str(tmp_path), **kwargs)
    jpg = osp.join(data_root, 'JPEGImages', '2012_000000.jpg')
    before = os.stat(jpg).st_mtime_ns
    assert make_synthetic_voc(str(tmp_path), **kwargs) == data_root
    assert os.stat(jpg).st_mtime_ns == before  # not written again

    # a missing file makes it generate the dataset again
    os.remove(jpg)
    make_synthetic_voc(str(tmp_path), **kwargs)
    assert osp.isfile(jpg)

    with pytest.raises(FileExistsError, match='other arguments'):
        make_synthetic_voc(str(tmp_path), **dict(kwargs, num_train=3))

    foreign = tmp_path / 'real' / 'coco_stuff10k'
    foreign.mkdir(parents=True)
    (foreign / 'something.txt').write_text('not ours')
    with pytest.raises(FileExistsError, match='not a synthetic dataset'):
        make_synthetic_cocostuff10k(str(tmp_path / 'real'), **kwargs)
    assert (foreign / 'something.txt').read_text() == 'not ours'
    # no temporary directory is left behind
    assert sorted(os.listdir(tmp_path / 'real')) == ['coco_stuff10k']


@pytest.mark.parametrize('kwargs, error', [
    (dict(num_train=0), ValueError),
    (dict(num_val=-1), ValueError),
    (dict(num_train=2.0), TypeError),
    (dict(image_size=(16, 16)), ValueError),
    (dict(image_size=(64, 64, 3)), TypeError),
    (dict(image_size='96'), TypeError),
    (dict(seed=-1), ValueError),
])
def test_bad_arguments(tmp_path, kwargs, error):
    for maker in MAKERS:
        with pytest.raises(error):
            maker(str(tmp_path), **kwargs)
    assert os.listdir(tmp_path) == []


def _folder_dataset(dataset_type, data_root, split_dirs, pipeline=LOAD):
    """A split read from an image and a label folder (``split_dirs``), as
    MMSegmentation's Cityscapes and ADE20K dataset configs read theirs."""
    img_path, seg_map_path = split_dirs
    return _build(
        dict(
            type=dataset_type,
            data_root=data_root,
            data_prefix=dict(img_path=img_path, seg_map_path=seg_map_path),
            pipeline=pipeline))


def _label_values(dataset, classes):
    """Checks that ``dataset`` names ``classes`` at their indices and that
    every image has SIZE; returns the label values of all its samples."""
    for index, name in classes.items():
        assert dataset.metainfo['classes'][index] == name
    seen = set()
    for i in range(len(dataset)):
        item = dataset[i]
        assert item['img'].shape == SIZE + (3, )
        seen |= set(np.unique(item['gt_seg_map']).tolist())
    return seen


def test_cityscapes_layout_loads_with_mmseg(tmp_path):
    data_root = make_synthetic_cityscapes(
        str(tmp_path), num_train=4, num_val=3, image_size=SIZE, seed=1)
    assert data_root == osp.join(str(tmp_path), 'cityscapes')
    seen = set()
    for split, count in (('train', 4), ('val', 3)):
        # the dataset dicts of mmseg's _base_/datasets/cityscapes.py
        dataset = _folder_dataset(
            'CityscapesDataset', data_root,
            (f'leftImg8bit/{split}', f'gtFine/{split}'))
        assert len(dataset) == count
        seen |= _label_values(dataset, CITYSCAPES_CLASSES)
    assert seen == set(CITYSCAPES_CLASSES) | {255}


def test_ade20k_layout_loads_with_mmseg(tmp_path):
    data_root = make_synthetic_ade20k(
        str(tmp_path), num_train=4, num_val=3, image_size=SIZE, seed=1)
    assert data_root == osp.join(str(tmp_path), 'ade',
                                 'ADEChallengeData2016')
    # the ADEChallengeData2016 names, numbered from 1
    assert sorted(os.listdir(osp.join(data_root, 'images',
                                      'validation'))) == [
        f'ADE_val_0000000{i}.jpg' for i in (1, 2, 3)]
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', reduce_zero_label=True)
    ]
    seen = set()
    for split, count in (('training', 4), ('validation', 3)):
        # the dataset dicts of mmseg's _base_/datasets/ade20k.py
        dataset = _folder_dataset(
            'ADE20KDataset', data_root,
            (f'images/{split}', f'annotations/{split}'), pipeline)
        assert len(dataset) == count
        assert len(dataset.metainfo['classes']) == 150
        seen |= _label_values(dataset, ADE20K_CLASSES)
    # the files hold 1 + class index and 0 ('other') along boundaries,
    # which reduce_zero_label turns into 255
    assert seen == set(ADE20K_CLASSES) | {255}


def _camvid(data_root, ann_file):
    return _build(
        dict(
            type='CamVidDataset',
            data_root=data_root,
            ann_file=ann_file,
            pipeline=LOAD))


def test_camvid_layout_loads_with_camvid_dataset(tmp_path):
    data_root = make_synthetic_camvid(
        str(tmp_path), num_train=4, num_val=2, image_size=SIZE, seed=1)
    assert data_root == osp.join(str(tmp_path), 'CamVid')
    # the split files name the SegNet authors' absolute paths
    with open(osp.join(data_root, 'train.txt')) as f:
        first = f.readline().split()
    assert first == ['/SegNet/CamVid/train/0001TP_000000.png',
                     '/SegNet/CamVid/trainannot/0001TP_000000.png']
    seen = set()
    for split, count in (('train', 4), ('val', 2), ('test', 2)):
        dataset = _camvid(data_root, f'{split}.txt')
        assert len(dataset) == count
        info = dataset.get_data_info(0)
        # resolved against data_root, not /SegNet
        assert info['img_path'].startswith(osp.join(data_root, split))
        assert info['seg_map_path'].startswith(
            osp.join(data_root, split + 'annot'))
        seen |= _label_values(dataset, CAMVID_CLASSES)
    classes = dataset.metainfo['classes']
    assert len(classes) == 11 and len(dataset.metainfo['palette']) == 11
    # void (11 in the files) is ignored; no class is shifted
    assert seen == set(CAMVID_CLASSES) | {255}


def test_camvid_split_files_relative_and_malformed(tmp_path):
    data_root = make_synthetic_camvid(
        str(tmp_path / 'data'), num_train=2, num_val=1, image_size=SIZE)
    lists = tmp_path / 'lists'
    lists.mkdir()
    (lists / 'rel.txt').write_text(
        'train/0001TP_000001.png trainannot/0001TP_000001.png\n\n')
    dataset = _camvid(data_root, str(lists / 'rel.txt'))
    assert len(dataset) == 1
    assert dataset.get_data_info(0)['img_path'] == osp.join(
        data_root, 'train', '0001TP_000001.png')
    (lists / 'bad.txt').write_text('train/0001TP_000001.png\n')
    with pytest.raises(ValueError, match=r'bad.txt, line 1: expected '
                       r'"<image> <annotation>"'):
        _camvid(data_root, str(lists / 'bad.txt'))
    (lists / 'flat.txt').write_text('a.png b.png\n')
    with pytest.raises(ValueError, match='is not <split folder>/<file name>'):
        _camvid(data_root, str(lists / 'flat.txt'))


def test_imagenet_layout_loads_with_mmpretrain(tmp_path):
    """MMPretrain's ImageNet reads the annotation files (without them it
    would scan the class folders and assert that there are 1000); the four
    classes are spread over the 1000 and occur in every split."""
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import DATASETS
    data_root = make_synthetic_imagenet(
        str(tmp_path), num_train=8, num_val=5, image_size=SIZE, seed=1)
    assert data_root == osp.join(str(tmp_path), 'imagenet')
    assert sorted(os.listdir(data_root)) == [
        '.mmtat_synthetic.json', 'meta', 'train', 'val']
    with open(osp.join(data_root, 'meta', 'train.txt')) as f:
        assert f.readline() == 'goldfish/goldfish_00000001.JPEG 1\n'
    with open(osp.join(data_root, 'meta', 'val.txt')) as f:
        assert f.readline() == 'ILSVRC2012_val_00000001.JPEG 1\n'
    assert min(IMAGENET_CLASSES) < 100 and max(IMAGENET_CLASSES) > 900
    for split, count in (('train', 8), ('val', 5)):
        # the dataset dicts of mmpretrain's _base_/datasets/imagenet_bs32
        with DefaultScope.overwrite_default_scope('mmpretrain'):
            dataset = DATASETS.build(dict(
                type='ImageNet', data_root=data_root, split=split,
                pipeline=[dict(type='LoadImageFromFile')]))
        assert len(dataset) == count
        classes = dataset.metainfo['classes']
        assert len(classes) == 1000
        for index, name in IMAGENET_CLASSES.items():
            assert classes[index].split(',')[0] == name
        labels = []
        for i in range(count):
            item = dataset[i]
            assert item['img'].shape == SIZE + (3, )
            assert item['img'].dtype == np.uint8
            labels.append(int(item['gt_label']))
        assert set(labels) == set(IMAGENET_CLASSES)
        if split == 'train':  # class folders, named after the class
            assert all(
                osp.basename(osp.dirname(dataset.get_data_info(i)[
                    'img_path'])) == IMAGENET_CLASSES[labels[i]].replace(
                        ' ', '_') for i in range(count))


def test_imagenet_classes_differ_in_their_pixels(tmp_path):
    """What makes the classes learnable: each class's texture colour; the
    mean colour of an image tells its class (nearest class mean)."""
    data_root = make_synthetic_imagenet(str(tmp_path), num_train=24,
                                        num_val=8, image_size=SIZE)
    from PIL import Image

    def features(split):
        with open(osp.join(data_root, 'meta', f'{split}.txt')) as f:
            lines = [line.split() for line in f]
        out = []
        for rel, label in lines:
            with Image.open(osp.join(data_root, split, rel)) as img:
                pixels = np.asarray(img, dtype=np.float64).reshape(-1, 3)
            # the colour of the pixels far from the background's green
            far = np.abs(pixels - [95, 125, 70]).sum(1) > 120
            out.append((pixels[far].mean(0), int(label)))
        return out

    train = features('train')
    means = {label: np.mean([f for f, k in train if k == label], axis=0)
             for label in IMAGENET_CLASSES}
    for feature, label in features('val'):
        nearest = min(means, key=lambda k: np.abs(means[k] - feature).sum())
        assert nearest == label


def test_cli(tmp_path):
    script = osp.join(REPO, 'tools', 'misc', 'make_synthetic_data.py')
    out = subprocess.run(
        [sys.executable, script, 'cocostuff10k', str(tmp_path),
         '--num-train', '3', '--num-val', '2', '--size', '40x56'],
        capture_output=True, text=True, check=True)
    data_root = out.stdout.strip()
    assert data_root == osp.join(str(tmp_path), 'coco_stuff10k')
    assert len(os.listdir(osp.join(data_root, 'images', 'train2014'))) == 3
    from PIL import Image
    with Image.open(osp.join(data_root, 'images', 'test2014',
                             'COCO_test2014_000000000003.jpg')) as img:
        assert img.size == (56, 40)  # PIL gives (width, height)

    bad = subprocess.run(
        [sys.executable, script, 'voc', str(tmp_path / 'x'), '--num-val',
         '0'],
        capture_output=True, text=True)
    assert bad.returncode == 2 and 'num_val must be >= 1' in bad.stderr

    imagenet = subprocess.run(
        [sys.executable, script, 'imagenet', str(tmp_path / 'cls'),
         '--num-train', '4', '--num-val', '2', '--size', '48'],
        capture_output=True, text=True, check=True)
    data_root = imagenet.stdout.strip()
    assert data_root == osp.join(str(tmp_path), 'cls', 'imagenet')
    assert len(open(osp.join(data_root, 'meta', 'train.txt')).readlines()) \
        == 4
