"""mmtat.checks.task: a config's task (segmentation or classification) and
the metrics its results are named by."""
import os.path as osp

from mmengine.config import Config

import mmtat  # noqa: F401
from mmtat.checks.task import (
    CLASSIFICATION,
    SEGMENTATION,
    config_task,
    evaluator_types,
    main_metric,
)
from mmtat.utils import config_file


def test_shipped_segmentation_configs():
    for name in ('tat/deeplabv3_r101_r18_voc.py',
                 'baselines/deeplabv3_r18_camvid.py'):
        cfg = Config.fromfile(config_file(name))
        assert config_task(cfg) == SEGMENTATION, name
    assert main_metric(SEGMENTATION).key == 'mIoU'


def test_mmpretrain_and_mmrazor_classification_configs():
    import mmpretrain
    import mmrazor
    kd = Config.fromfile(osp.join(
        osp.dirname(mmrazor.__file__), '.mim', 'configs', 'distill', 'mmcls',
        'kd', 'kd_logits_resnet34_resnet18_8xb32_in1k.py'))
    assert evaluator_types(kd) == ('Accuracy', )
    assert config_task(kd) == CLASSIFICATION
    resnet = Config.fromfile(osp.join(
        osp.dirname(mmpretrain.__file__), '.mim', 'configs', 'resnet',
        'resnet18_8xb32_in1k.py'))
    assert config_task(resnet) == CLASSIFICATION
    metric = main_metric(CLASSIFICATION)
    assert (metric.key, metric.name, metric.metafile) == (
        'accuracy/top1', 'top-1', 'Top 1 Accuracy')


def test_without_evaluators_the_model_or_the_dataset_tells():
    student = dict(cfg_path='mmpretrain::resnet/resnet18_8xb32_in1k.py')
    assert config_task(Config(dict(model=dict(
        type='SingleTeacherDistill', architecture=student)))) == \
        CLASSIFICATION
    assert config_task(Config(dict(model=dict(
        type='ImageClassifier')))) == CLASSIFICATION
    assert config_task(Config(dict(train_dataloader=dict(dataset=dict(
        type='ImageNet'))))) == CLASSIFICATION
    assert config_task(Config(dict(train_dataloader=dict(dataset=dict(
        type='CityscapesDataset'))))) == SEGMENTATION
    assert config_task(Config(dict())) == SEGMENTATION
