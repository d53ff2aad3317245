"""mmtat.checks.data_check: every sample of a config's datasets decoded and
checked, on each generated dataset layout, with labels out of range, a
label of another size, a truncated image, a colour label, a missing file
and an empty split."""
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from mmtat.checks.data_check import (
    LabelRule,
    _build,
    check_config_data,
    config_datasets,
    file_problem,
)
from mmtat.checks.dry_run import (
    SYNTHETIC_DATASETS,
    make_dry_run_dataset,
    shrink_for_dry_run,
)

#: a shipped config per dataset type with a generated stand-in
CONFIGS = {
    'PascalVOCDataset': 'configs/baselines/deeplabv3_r18_voc.py',
    'COCOStuffDataset': 'configs/baselines/deeplabv3_r18_cocostuff10k.py',
    'CityscapesDataset': 'configs/baselines/deeplabv3_r18_cityscapes.py',
    'CamVidDataset': 'configs/baselines/deeplabv3_r18_camvid.py',
    'ADE20KDataset': 'configs/baselines/deeplabv3_r18_ade20k.py',
}



def _mmpretrain_config(rel):
    import mmpretrain
    return osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'configs', rel)


#: classification: MMPretrain's own config (ImageNet in its
#: annotation-file layout)
CLASSIFICATION_CONFIGS = {
    'ImageNet': _mmpretrain_config('resnet/resnet18_8xb32_in1k.py'),
}


def test_every_generated_layout_has_a_config_here():
    assert sorted([*CONFIGS, *CLASSIFICATION_CONFIGS]) == sorted(
        SYNTHETIC_DATASETS)


def _config(kind, root, tmp_path):
    cfg = Config.fromfile({**CONFIGS, **CLASSIFICATION_CONFIGS}[kind])
    data_root = make_dry_run_dataset(cfg, str(root))
    return shrink_for_dry_run(cfg, data_root=data_root,
                              work_dir=str(tmp_path / 'work'))


def _rewrite_label(path, change):
    """Change a label PNG's values or size, keeping its mode (palette or
    grey) as the dataset's converter wrote it."""
    image = Image.open(path)
    out = change(image)
    if image.mode == 'P' and out.mode == 'P':
        out.putpalette(image.getpalette())
    out.save(path)


def _truncate(path):
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])


def test_label_rule_values():
    rule = LabelRule(num_classes=21, ignore_index=255)
    label = np.zeros((4, 5), np.uint8)
    assert rule.bad_values(label) == {}
    label[0, :3] = 255
    assert rule.bad_values(label) == {}
    label[1, :2] = 40
    label[2, 0] = 21
    assert rule.bad_values(label) == {21: 1, 40: 2}
    assert rule.bad_values(np.array([[-1, 3]])) == {-1: 1}
    assert rule.bad_values(np.zeros((0, 3), np.uint8)) == {}
    with pytest.raises(ValueError, match='num_classes must be a positive '
                       'int, got 0'):
        LabelRule(0)


def test_file_problems(tmp_path):
    rgb = np.zeros((8, 8, 3), np.uint8)
    for suffix in ('.jpg', '.png'):
        path = str(tmp_path / f'a{suffix}')
        Image.fromarray(rgb).save(path)
        assert file_problem(path) is None
        _truncate(path)
        problem = file_problem(path)
        assert problem.kind == 'truncated'
        kind = 'JPEG' if suffix == '.jpg' else 'PNG'
        assert f'is truncated: a {kind} file of' in problem.detail
    open(tmp_path / 'empty.png', 'wb').close()
    assert file_problem(str(tmp_path / 'empty.png')).detail == \
        'is empty (0 bytes)'
    assert file_problem(str(tmp_path / 'none.png')).kind == 'missing'


@pytest.mark.parametrize('kind', sorted(CONFIGS))
def test_each_layout_clean_then_with_three_broken_samples(kind, tmp_path):
    cfg = _config(kind, tmp_path / 'data', tmp_path)
    reports = check_config_data(cfg, nproc=2)
    assert reports and all(r.problems == [] for r in reports)
    assert all(r.samples > 0 for r in reports)
    train = reports[0]
    assert 'training' in train.roles and train.type == kind

    # break samples 0, 1, 2 of the first training dataset
    [(_, dataset_cfg), *_] = config_datasets(cfg, ('train', ))
    dataset = _build(dataset_cfg)
    infos = [dataset.get_data_info(i) for i in range(3)]
    stored = train.num_classes + 2  # a class index the dataset lacks

    def out_of_range(image):
        values = np.array(image)
        values[:2, :3] = stored
        return Image.fromarray(values, image.mode)

    _rewrite_label(infos[0]['seg_map_path'], out_of_range)
    _rewrite_label(infos[1]['seg_map_path'], lambda image: image.resize(
        (image.width - 8, image.height), Image.NEAREST))
    _truncate(infos[2]['img_path'])

    reports = check_config_data(cfg, nproc=2)
    found = {p.kind: p for p in reports[0].problems}
    assert sorted(found) == ['label_values', 'size_mismatch', 'truncated']
    value = stored - 1 if train.reduce_zero_label else stored
    bad = found['label_values']
    assert (bad.file, bad.values) == (infos[0]['seg_map_path'], {value: 6})
    assert bad.detail.startswith(f'holds label values {value} (6 pixels)')
    assert bad.detail.endswith(
        f'which are neither one of the {train.num_classes} classes 0-'
        f'{train.num_classes - 1} nor the ignore index 255')
    assert ('reduce_zero_label (the file holds them + 1)' in bad.detail) \
        == train.reduce_zero_label
    size = found['size_mismatch']
    assert size.file == infos[1]['seg_map_path']
    image = np.array(Image.open(infos[1]['img_path']))
    height, width = image.shape[:2]
    assert size.detail == (f'is {height}x{width - 8} (height x width), its '
                           f"image {infos[1]['img_path']} {height}x{width}")
    assert found['truncated'].file == infos[2]['img_path']
    # other datasets may share those images (VOC aug's two training sets)
    for report in reports[1:]:
        assert {(p.kind, p.file) for p in report.problems} <= {
            ('truncated', infos[2]['img_path'])}


def test_colour_label_missing_file_and_empty_split(tmp_path):
    cfg = _config('PascalVOCDataset', tmp_path / 'data', tmp_path)
    [(_, dataset_cfg), *_] = config_datasets(cfg, ('train', ))
    dataset = _build(dataset_cfg)
    colour = dataset.get_data_info(1)['seg_map_path']
    Image.open(colour).convert('RGB').save(colour)
    missing = dataset.get_data_info(2)['seg_map_path']
    os.remove(missing)
    val_split = osp.join(cfg.val_dataloader.dataset.data_root,
                         cfg.val_dataloader.dataset.ann_file)
    open(val_split, 'w').close()

    reports = check_config_data(cfg, nproc=1)
    problems = {(p.kind, p.file): p for p in reports[0].problems}
    assert problems[('label_shape', colour)].detail.startswith(
        'decodes to an array of shape (96, 96, 3), not a (height, width) '
        'map of class indices')
    assert ('missing', missing) in problems
    [val] = [r for r in reports if 'validation' in r.roles]
    [empty] = val.problems
    assert empty.kind == 'empty'
    assert 'lists no images (a dataset of 0 samples)' in empty.detail


def test_label_rule_of_a_classification_dataset():
    """One label per image, no ignore index: 255 is a class of ImageNet,
    1000 is not."""
    rule = LabelRule(num_classes=1000, ignore_index=None,
                     labels_from='meta/train.txt')
    assert rule.bad_values(np.array([0, 255, 999])) == {}
    assert rule.bad_values(np.array([1000, -1, 1000])) == {-1: 1, 1000: 2}
    assert rule.describe() == 'one of the 1000 classes 0-999'


def test_imagenet_clean_then_with_broken_samples(tmp_path):
    """MMPretrain's ImageNet: a label outside the 1000 classes (with the
    line of meta/train.txt that gives it), a truncated image, a file that
    is no image, a line naming a missing image, and an empty split."""
    cfg = _config('ImageNet', tmp_path / 'data', tmp_path)
    reports = check_config_data(cfg, nproc=2)
    assert [(r.type, r.samples, r.num_classes, r.ignore_index, r.problems)
            for r in reports] == [('ImageNet', 4, 1000, None, []),
                                  ('ImageNet', 2, 1000, None, [])]
    data_root = cfg.train_dataloader.dataset.data_root
    ann_file = osp.join(data_root, 'meta', 'train.txt')
    with open(ann_file) as f:
        lines = f.read().splitlines()
    images = [osp.join(data_root, 'train', line.split()[0])
              for line in lines]
    lines[0] = lines[0].rsplit(' ', 1)[0] + ' 1000'
    # (not the first or last line: the layout check looks at those)
    lines.insert(3, 'zebra/zebra_00000099.JPEG 340')
    with open(ann_file, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    _truncate(images[1])
    with open(images[2], 'w') as f:
        f.write('not an image\n')
    open(osp.join(data_root, 'meta', 'val.txt'), 'w').close()

    train, val = check_config_data(cfg, nproc=2)
    found = {p.kind: p for p in train.problems}
    assert sorted(found) == ['label_values', 'missing', 'truncated',
                             'unreadable']
    assert found['label_values'].sentence() == (
        f'{images[0]} is labelled 1000 (line 1 of {ann_file}), which is '
        'not one of the 1000 classes 0-999')
    assert found['label_values'].values == {1000: 1}
    assert found['truncated'].file == images[1]
    assert found['unreadable'].file == images[2]
    assert found['unreadable'].detail.startswith('cannot be loaded (')
    assert found['missing'].sentence() == (
        f'{osp.join(data_root, "train", "zebra", "zebra_00000099.JPEG")} '
        'does not exist')
    [empty] = val.problems
    assert empty.kind == 'empty'
    assert empty.detail == (
        f'the annotation file {osp.join(data_root, "meta", "val.txt")} '
        'lists no images (a dataset of 0 samples)')
