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
    # networks, distiller and optimiser are the config's own, but for the
    # crop the distiller's shape pass takes (shrunk with the crop)
    assert cfg.model.distiller.input_size == (512, 1024)
    assert small.model.distiller.input_size == (128, 256)
    assert {k: v for k, v in small.model.distiller.items()
            if k != 'input_size'} == {
                k: v for k, v in cfg.model.distiller.items()
                if k != 'input_size'}
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


def _mmrazor_config(rel):
    import mmrazor
    return Config.fromfile(osp.join(osp.dirname(mmrazor.__file__), '.mim',
                                    'configs', rel))


def _mmpretrain_config(rel):
    import mmpretrain
    return Config.fromfile(osp.join(osp.dirname(mmpretrain.__file__),
                                    '.mim', 'configs', rel))


def test_classification_config_shrinks_to_iterations(tmp_path):
    """MMRazor's ImageNet KD config (mmcls:: bases read from MMPretrain):
    the crops of MMPretrain's pipelines shrink by one factor, the epoch
    loop and the epoch-based policy become iterations, the released
    teacher is dropped, and the run logs iterations."""
    cfg = _mmrazor_config(
        'distill/mmcls/kd/kd_logits_resnet34_resnet18_8xb32_in1k.py')
    assert dataset_type(cfg) == 'ImageNet'
    assert dry_run_crop(cfg) == (128, 128)  # RandomResizedCrop 224
    assert cfg.train_cfg.by_epoch and cfg.model.teacher_ckpt
    data_root = make_dry_run_dataset(cfg, str(tmp_path / 'd'))
    assert data_root == str(tmp_path / 'd' / 'imagenet')
    small = shrink_for_dry_run(cfg, data_root=data_root,
                               work_dir=str(tmp_path / 'w'))
    assert small.model.distiller == cfg.model.distiller
    assert small.optim_wrapper == cfg.optim_wrapper
    train = small.train_dataloader.dataset
    assert train.data_root == data_root and train.split == 'train'
    assert [t.get('scale') for t in train.pipeline
            if t.type == 'RandomResizedCrop'] == [128]
    val = small.val_dataloader.dataset.pipeline
    assert [(t.type, t.get('scale', t.get('crop_size'))) for t in val
            if t.type in ('ResizeEdge', 'CenterCrop')] == [
                ('ResizeEdge', 146), ('CenterCrop', 128)]  # 256, 224 x 4/7
    assert small.train_cfg == dict(type='IterBasedTrainLoop', max_iters=2,
                                   val_interval=2)
    [scheduler] = small.param_scheduler
    assert scheduler.type == 'MultiStepLR' and scheduler.by_epoch is False
    assert scheduler.milestones == [30, 60, 90]  # epochs as iterations
    assert small.log_processor.by_epoch is False
    assert small.model.teacher_ckpt is None
    assert find_remote_files(small, 'train') == []
    # the original is left as it was
    assert cfg.param_scheduler.by_epoch is True


def test_classification_warm_up_and_pretrained_weights(tmp_path):
    """An epoch-based warm-up converted to iterations is cut off at the
    dry run's end; ImageNet-pretrained weights are not fetched, neither an
    init_cfg URL nor a cfg_path model's pretrained=True."""
    cfg = _mmpretrain_config('mobilenet_v2/mobilenet-v2_8xb32_in1k.py')
    assert dry_run_crop(cfg, 64) == (64, 64)
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0,
             end=5, convert_to_iter_based=True),
        dict(type='StepLR', by_epoch=True, step_size=1, gamma=0.98,
             begin=5)]
    cfg.model.backbone.init_cfg = dict(
        type='Pretrained', checkpoint='https://download.openmmlab.com/'
        'mmclassification/v0/mobilenet_v2/mobilenet_v2_batch256_imagenet_'
        '20200708-3b2dc3af.pth', prefix='backbone')
    assert [f.key for f in find_remote_files(cfg, 'train')] == [
        'model.backbone.init_cfg.checkpoint']
    small = shrink_for_dry_run(cfg, data_root=str(tmp_path),
                               work_dir=str(tmp_path / 'w'), crop=(64, 64))
    assert small.model.backbone.init_cfg is None
    warm_up, decay = small.param_scheduler
    assert (warm_up.by_epoch, warm_up.begin, warm_up.end) == (False, 0, 2)
    assert 'convert_to_iter_based' not in warm_up
    # the decay begins where the dry run ends
    assert (decay.type, decay.by_epoch, decay.begin) == ('StepLR', False, 2)
    pipeline = small.train_dataloader.dataset.pipeline
    assert [t for t in pipeline if t.type == 'RandomResizedCrop'] == [
        dict(type='RandomResizedCrop', scale=64, backend='pillow')]

    kd = _mmrazor_config(
        'distill/mmcls/kd/kd_logits_resnet34_resnet18_8xb32_in1k.py')
    kd.model.architecture.pretrained = True
    kd.model.teacher.pretrained = True
    small = shrink_for_dry_run(kd, data_root=str(tmp_path),
                               work_dir=str(tmp_path / 'w'))
    assert small.model.architecture.pretrained is False
    assert small.model.teacher.pretrained is False
