"""mmtat.engine.data_guard: a sample that cannot be loaded, or whose labels
are not classes, stops the run with one paragraph naming the file, also
from a data loader worker process; good samples come out unchanged."""
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from PIL import Image

from mmtat.checks.data_check import _build, config_datasets
from mmtat.checks.dry_run import make_dry_run_dataset, shrink_for_dry_run
from mmtat.engine import GuardedLoading, guard_dataloader
from mmtat.utils import DataSampleError

VOC = 'configs/baselines/deeplabv3_r18_voc.py'
COMMAND = 'python tools/misc/check_data.py CONFIG'


@pytest.fixture
def voc_dataset(tmp_path):
    """The VOC training set (SegmentationClass) on generated data, with
    the config's pipeline; sample 1's label holds a 40."""
    cfg = Config.fromfile(VOC)
    data_root = make_dry_run_dataset(cfg, str(tmp_path / 'data'))
    cfg = shrink_for_dry_run(cfg, data_root=data_root,
                             work_dir=str(tmp_path / 'work'))
    [(_, dataset_cfg), *_] = config_datasets(cfg, ('train', ))
    # no random crop, flip or colour change: samples comparable bitwise
    dataset_cfg['pipeline'] = [
        t for t in dataset_cfg['pipeline']
        if t['type'] in ('LoadImageFromFile', 'LoadAnnotations',
                         'PackSegInputs')
    ]
    dataset = _build(dataset_cfg)
    label = dataset.get_data_info(1)['seg_map_path']
    image = Image.open(label)
    values = np.array(image)
    values[0, :5] = 40
    out = Image.fromarray(values, 'P')
    out.putpalette(image.getpalette())
    out.save(label)
    return dataset, label


class Loader:
    """What guard_dataloader needs of a data loader."""

    def __init__(self, dataset):
        self.dataset = dataset


def test_guard_wraps_each_loading_transform_once(voc_dataset):
    dataset, _ = voc_dataset
    clean_before = dataset[0]
    assert guard_dataloader(Loader(dataset), 'training data', COMMAND) == 1
    transforms = dataset.pipeline.transforms
    assert [isinstance(t, GuardedLoading) for t in transforms] == [
        True, True, False]
    assert [type(t.loaders[0]).__name__ for t in transforms[:2]] == [
        'LoadImageFromFile', 'LoadAnnotations']
    # guarding again finds no Load* transform left to wrap
    assert guard_dataloader(Loader(dataset), 'training data', COMMAND) == 0
    clean_after = dataset[0]
    assert torch.equal(clean_before['inputs'], clean_after['inputs'])
    assert torch.equal(clean_before['data_samples'].gt_sem_seg.data,
                       clean_after['data_samples'].gt_sem_seg.data)


def test_out_of_range_label_names_the_file_and_the_check(voc_dataset):
    dataset, label = voc_dataset
    guard_dataloader(Loader(dataset), 'training data', COMMAND)
    with pytest.raises(DataSampleError) as err:
        dataset[1]
    message = str(err.value)
    assert message == (
        f"Training data (PascalVOCDataset, data_root={dataset.data_root!r})"
        f': {label} holds label values 40 (5 pixels), which are neither one '
        'of the 21 classes 0-20 nor the ignore index 255. The run stopped '
        f'at this sample; check the whole dataset with {COMMAND}, which '
        'lists every such file, and fix or remove them (or their lines in '
        'the split file).')


def test_the_paragraph_survives_a_data_loader_worker(voc_dataset):
    """torch re-raises a worker's exception with the worker's traceback in
    its message; the error keeps only the paragraph."""
    dataset, label = voc_dataset
    guard_dataloader(Loader(dataset), 'training data', COMMAND)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.Subset(dataset, [1]), batch_size=1, num_workers=1,
        collate_fn=pseudo_collate)
    with pytest.raises(DataSampleError) as err:
        next(iter(loader))
    message = str(err.value)
    assert message.startswith('Training data (PascalVOCDataset, ')
    assert f'{label} holds label values 40 (5 pixels)' in message
    assert 'Traceback' not in message and '\n' not in message


def test_unreadable_image_names_it(voc_dataset):
    dataset, _ = voc_dataset
    image = dataset.get_data_info(0)['img_path']
    data = open(image, 'rb').read()
    with open(image, 'wb') as f:
        f.write(data[:len(data) // 2])
    guard_dataloader(Loader(dataset), 'validation data', COMMAND)
    with pytest.raises(DataSampleError, match=(
            r'^Validation data \(PascalVOCDataset, .*\): '
            f'{image} cannot be loaded \\(AssertionError: failed to load '
            'image: ')):
        dataset[0]


def _tta_dataset(tmp_path):
    """The VOC validation set with the config's tta_pipeline (the label
    loaded in each Resize x Flip branch of TestTimeAug); sample 1's label
    holds a 40."""
    cfg = Config.fromfile(VOC)
    data_root = make_dry_run_dataset(cfg, str(tmp_path / 'data'))
    cfg = shrink_for_dry_run(cfg, data_root=data_root,
                             work_dir=str(tmp_path / 'work'))
    [(_, dataset_cfg), *_] = config_datasets(cfg, ('val', ))
    dataset_cfg['pipeline'] = cfg.tta_pipeline
    dataset = _build(dataset_cfg)
    label = dataset.get_data_info(1)['seg_map_path']
    image = Image.open(label)
    values = np.array(image)
    values[0, :3] = 40
    out = Image.fromarray(values, 'P')
    out.putpalette(image.getpalette())
    out.save(label)
    return dataset, label


def test_test_time_augmentation_is_guarded_too(tmp_path):
    """tools/test.py --tta: the label loaded inside TestTimeAug is checked
    (before, a wrong label reached the metric unchecked)."""
    dataset, label = _tta_dataset(tmp_path)
    clean_before = dataset[0]
    assert guard_dataloader(Loader(dataset), 'test data', COMMAND) == 1
    top = dataset.pipeline.transforms
    assert isinstance(top[0], GuardedLoading)
    tta = top[1]
    assert type(tta).__name__ == 'TestTimeAug'
    inner = [t for branch in tta.subroutines for t in branch.transforms
             if isinstance(t, GuardedLoading)]
    # one LoadAnnotations per branch, each guarded, by one shared guard
    assert len(inner) == len(tta.subroutines) > 1
    assert len({id(t) for t in inner}) == 1
    assert type(inner[0].loaders[0]).__name__ == 'LoadAnnotations'
    assert guard_dataloader(Loader(dataset), 'test data', COMMAND) == 0
    clean_after = dataset[0]
    for before, after in zip(clean_before['inputs'], clean_after['inputs']):
        assert torch.equal(before, after)
    with pytest.raises(DataSampleError) as err:
        dataset[1]
    assert str(err.value).startswith(
        f'Test data (PascalVOCDataset, data_root={dataset.data_root!r}): '
        f'{label} holds label values 40 (3 pixels), which are neither one '
        'of the 21 classes 0-20 nor the ignore index 255.')


@pytest.fixture
def imagenet_dataset(tmp_path):
    """MMPretrain's ImageNet training set on generated data with MMPretrain's
    own pipeline; line 2 of meta/train.txt labels its image 1000."""
    import os.path as osp

    import mmpretrain
    cfg = Config.fromfile(osp.join(
        osp.dirname(mmpretrain.__file__), '.mim', 'configs', 'resnet',
        'resnet18_8xb32_in1k.py'))
    data_root = make_dry_run_dataset(cfg, str(tmp_path / 'data'))
    cfg = shrink_for_dry_run(cfg, data_root=data_root,
                             work_dir=str(tmp_path / 'work'), crop=(32, 32))
    ann_file = osp.join(data_root, 'meta', 'train.txt')
    with open(ann_file) as f:
        lines = f.read().splitlines()
    lines[1] = lines[1].rsplit(' ', 1)[0] + ' 1000'
    with open(ann_file, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    [(_, dataset_cfg), *_] = config_datasets(cfg, ('train', ))
    return _build(dataset_cfg), ann_file


def test_classification_label_outside_the_classes(imagenet_dataset):
    """Before, the label 1000 reached the loss: IndexError: Target 1000 is
    out of bounds (a device-side assert on a GPU), naming no file."""
    dataset, ann_file = imagenet_dataset
    assert guard_dataloader(Loader(dataset), 'training data', COMMAND) == 1
    assert isinstance(dataset.pipeline.transforms[0], GuardedLoading)
    sample = dataset[0]  # a good one passes unchanged
    assert sample['inputs'].shape == (3, 32, 32)
    image = dataset.get_data_info(1)['img_path']
    with pytest.raises(DataSampleError) as err:
        dataset[1]
    assert str(err.value) == (
        f"Training data (ImageNet, data_root={dataset.data_root!r}): "
        f'{image} is labelled 1000 (line 2 of {ann_file}), which is not one '
        'of the 1000 classes 0-999. The run stopped at this sample; check '
        f'the whole dataset with {COMMAND}, which lists every such file, '
        f'and fix or remove them (or their lines in {ann_file}).')


def test_classification_unreadable_image(imagenet_dataset):
    dataset, _ = imagenet_dataset
    image = dataset.get_data_info(2)['img_path']
    with open(image, 'w') as f:
        f.write('not an image\n')
    guard_dataloader(Loader(dataset), 'training data', COMMAND)
    with pytest.raises(DataSampleError, match=(
            r'^Training data \(ImageNet, .*\): '
            f'{image} cannot be loaded \\(')):
        dataset[2]
