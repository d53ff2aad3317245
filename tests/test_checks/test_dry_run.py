"""mmtat.checks.dry_run: what a dry run changes in a shipped config."""
import os
import os.path as osp

import pytest
from mmengine.config import Config

import mmtat  # noqa: F401
from mmtat.checks import find_remote_files
from mmtat.checks.dry_run import (
    SYNTHETIC_DATASETS,
    dataset_type,
    dry_run_crop,
    make_dry_run_dataset,
    shrink_for_dry_run,
)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def load(rel):
    return Config.fromfile(osp.join(REPO, rel))


def test_only_run_time_quantities_change(tmp_path):
    cfg = load('configs/tat/deeplabv3_r101_r18_cityscapes.py')
    assert dataset_type(cfg) == 'CityscapesDataset'
    assert dry_run_crop(cfg) == (128, 256)  # Cityscapes' 1:2 crop
    small = shrink_for_dry_run(cfg, data_root=str(tmp_path / 'd'),
                               work_dir=str(tmp_path / 'w'))
    # networks, distiller and optimiser are the config's own
    assert small.model.distiller == cfg.model.distiller
    assert small.optim_wrapper == cfg.optim_wrapper
    assert small.model.teacher.backbone.depth == 101
    assert small.model.architecture.backbone.norm_cfg.type == 'BN'
    # sizes shrink by one factor (128 / 512)
    assert small.model.data_preprocessor.size == (128, 256)
    pipeline = small.train_dataloader.dataset.pipeline
    assert pipeline[2].scale == (512, 256)  # (2048, 1024) / 4
    assert pipeline[3].crop_size == (128, 256)
    assert small.train_dataloader.dataset.data_root == str(tmp_path / 'd')
    assert small.train_cfg.max_iters == 2
    assert all(s.get('end', 0) <= 2 for s in small.param_scheduler)
    assert find_remote_files(small, 'train') == []
    # the original is left as it was
    assert cfg.model.data_preprocessor.size == (512, 1024)


def test_local_teacher_checkpoints_are_dropped(tmp_path):
    cfg = load('configs/tat/deeplabv3_r101_r18_camvid.py')
    assert cfg.model.teacher_ckpt.startswith('work_dirs/')
    small = shrink_for_dry_run(cfg, data_root=str(tmp_path),
                               work_dir=str(tmp_path / 'w'))
    assert small.model.teacher_ckpt is None
    assert small.model.teacher.pretrained is None


def test_unknown_dataset_is_refused(tmp_path):
    cfg = Config(dict(train_dataloader=dict(dataset=dict(
        type='RepeatDataset', dataset=dict(type='PascalContextDataset')))))
    assert dataset_type(cfg) == 'PascalContextDataset'
    with pytest.raises(ValueError, match='no generated stand-in for '
                       'PascalContextDataset; dry runs support '
                       'PascalVOCDataset, .*ADE20KDataset'):
        make_dry_run_dataset(cfg, str(tmp_path))


def test_every_layout_is_a_dry_run_dataset(tmp_path):
    """Each generated layout is found for its dataset type (the one table
    of mmtat.datasets.SYNTHETIC_LAYOUTS), ADE20K's included."""
    from mmtat.datasets import SYNTHETIC_LAYOUTS
    assert set(SYNTHETIC_DATASETS) == {
        layout.dataset for layout in SYNTHETIC_LAYOUTS.values()}
    cfg = Config(dict(train_dataloader=dict(dataset=dict(
        type='ADE20KDataset'))))
    data_root = make_dry_run_dataset(cfg, str(tmp_path), num_train=2,
                                     num_val=1)
    assert data_root == osp.join(str(tmp_path), 'ade',
                                 'ADEChallengeData2016')
    assert sorted(os.listdir(osp.join(data_root, 'images', 'training'))) == [
        'ADE_train_00000001.jpg', 'ADE_train_00000002.jpg']
