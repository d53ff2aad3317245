"""Teacher weights that do not fit are refused before training, and the
teacher's validation mIoU is logged next to its published one
(mmtat.checks.teacher_fit, TeacherCheckpointHook, TeacherMetricHook), on
small modules shaped like MMSegmentation's segmentors inside an MMRazor
distillation algorithm."""
import itertools
import logging

import numpy as np
import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from torch import nn

from mmtat.checks import PublishedResult, teacher_weight_sources
from mmtat.engine import (
    TEACHER_METRIC_WARN_RATIO,
    TeacherCheckpointHook,
    TeacherMetricHook,
)
from mmtat.utils import RunRefused


class Head(nn.Module):

    def __init__(self, classes: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3)
        self.conv_seg = nn.Conv2d(4, classes, 1)


class Segmentor(BaseModule):
    """backbone + decode_head.conv_seg, as MMSegmentation names them."""

    def __init__(self, depth: int = 2, classes: int = 3,
                 init_cfg=None, backbone_init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.backbone = BaseModule(init_cfg=backbone_init_cfg)
        self.backbone.layers = nn.Sequential(
            *[nn.Conv2d(4, 4, 1) for _ in range(depth)])
        self.backbone.bn = nn.BatchNorm2d(4)
        self.decode_head = Head(classes)


class Distill(nn.Module):
    """Shaped like MMRazor's SingleTeacherDistill."""

    def __init__(self, teacher: nn.Module) -> None:
        super().__init__()
        self.architecture = Segmentor(depth=1)
        self.teacher = teacher
        self.distiller = nn.Linear(2, 2)


class FakeRunner:

    def __init__(self, model):
        self.model = model
        self.logger = logging.getLogger('fake_runner')


def _save(path, state):
    torch.save({'meta': {}, 'state_dict': state}, str(path))
    return str(path)


def _check(model, teacher_ckpt=None, allow=False):
    TeacherCheckpointHook(teacher_ckpt, allow_partial=allow).before_train(
        FakeRunner(model))


def test_fitting_teacher_checkpoint_passes(tmp_path):
    teacher = Segmentor(depth=4)
    state = dict(teacher.state_dict())
    state.pop('backbone.bn.num_batches_tracked')
    _check(Distill(Segmentor(depth=4)), _save(tmp_path / 't.pth', state))
    # saved from DDP ("module." prefix), in torch's pre-zip format
    path = str(tmp_path / 'legacy.pth')
    torch.save({'state_dict': {f'module.{k}': v for k, v in state.items()}},
               path, _use_new_zipfile_serialization=False)
    _check(Distill(Segmentor(depth=4)), path)
    _check(Segmentor(), None)  # not a distillation model: nothing to check


def test_student_checkpoint_for_the_teacher_is_refused(tmp_path):
    """The R18 student's weights given as the R101 teacher's checkpoint
    (loaded with strict=False, the run would train to the end with a
    randomly initialised teacher)."""
    student = _save(tmp_path / 'student.pth', Segmentor(depth=1).state_dict())
    with pytest.raises(RunRefused) as err:
        _check(Distill(Segmentor(depth=4)), student)
    message = str(err.value)
    assert message.startswith(
        f'model.teacher_ckpt = {student} does not fit the teacher of this '
        'config: 6 of the 16 teacher weights are not in it (e.g. '
        'backbone.layers.1.weight, backbone.layers.1.bias, '
        'backbone.layers.2.weight, ...).')
    assert "another network than this config's teacher" in message
    assert 'nothing was trained' in message
    assert message.endswith('add --allow-partial-teacher.')


def test_distillation_checkpoint_names_its_teacher_part(tmp_path):
    distill = Distill(Segmentor(depth=4))
    path = _save(tmp_path / 'distill.pth', distill.state_dict())
    with pytest.raises(RunRefused) as err:
        _check(Distill(Segmentor(depth=4)), path)
    message = str(err.value)
    assert 'tensors belong to no teacher weight (e.g. architecture.' \
        in message
    assert 'It is a distillation checkpoint: its teacher is under ' \
        'teacher.*' in message
    fix = ("model.teacher.init_cfg=dict(type='Pretrained',"
           f"checkpoint='{path}',prefix='teacher.')")
    assert fix in message
    # that fix: the teacher's own init_cfg with the prefix fits
    fixed = Distill(Segmentor(depth=4, init_cfg=dict(
        type='Pretrained', checkpoint=path, prefix='teacher.')))
    [source] = teacher_weight_sources(fixed, None)
    assert (source.what, source.prefix) == (
        'the init_cfg checkpoint of teacher', 'teacher.')
    _check(fixed, None)


def test_other_class_count_and_allowing_a_partial_teacher(tmp_path, caplog):
    path = _save(tmp_path / 'coco.pth', Segmentor(classes=171).state_dict())
    with pytest.raises(RunRefused) as err:
        _check(Distill(Segmentor(classes=21)), path)
    assert ('Only the classifier differs (decode_head.conv_seg.weight: 171 '
            'classes in the checkpoint, 21 in this config)') in str(err.value)
    with caplog.at_level(logging.WARNING, logger='fake_runner'):
        _check(Distill(Segmentor(classes=21)), path, allow=True)
    assert 'Training anyway (--allow-partial-teacher).' in caplog.text


def test_init_cfg_checkpoints_of_the_teacher_are_checked(tmp_path):
    """Without teacher_ckpt the teacher's init_cfg checkpoints load (e.g.
    model.teacher.pretrained, which becomes the backbone's)."""
    backbone = Segmentor(depth=1).backbone.state_dict()
    path = _save(tmp_path / 'r18.pth', backbone)
    teacher = Segmentor(depth=4, backbone_init_cfg=dict(
        type='Pretrained', checkpoint=path))
    [source] = teacher_weight_sources(Distill(teacher), None)
    assert source.what == 'the init_cfg checkpoint of teacher.backbone'
    with pytest.raises(RunRefused, match='the init_cfg checkpoint of '
                       'teacher.backbone = .* 6 of the 12 teacher weights'):
        _check(Distill(teacher), None)
    # teacher_ckpt wins: the teacher's init_cfg is never applied then
    assert [s.what for s in teacher_weight_sources(
        Distill(teacher), 'x.pth')] == ['model.teacher_ckpt']


_LOGGERS = itertools.count()


class Records(logging.Handler):

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records = []

    def emit(self, record):
        self.records.append((record.levelno, record.getMessage()))


@pytest.fixture
def current_log():
    """What mmengine's current logger (``logger='current'``) receives."""
    # a new instance is the current one
    logger = MMLogger.get_instance(f'teacher_check_{next(_LOGGERS)}')
    assert MMLogger.get_current_instance() is logger
    handler = Records()
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def _logged(records, hook, metrics):
    records.records.clear()
    hook.after_val_epoch(None, metrics)
    return list(records.records)


def test_teacher_metric_is_logged_next_to_the_published_one(current_log):
    published = PublishedResult(77.92, 'deeplabv3_r101', 'a metafile')
    hook = TeacherMetricHook(published)
    assert _logged(current_log, hook, {'mIoU': 50.0}) == []  # no teacher
    # the evaluator's numpy scalar
    [(level, text)] = _logged(current_log, hook,
                              {'teacher.mIoU': np.float32(76.5)})
    assert level == logging.INFO
    assert text == ('Teacher: validation mIoU 76.50; published 77.92 for '
                    'deeplabv3_r101 (a metafile).')
    # only the first validation
    assert _logged(current_log, hook, {'teacher.mIoU': 1.4}) == []
    low = 77.92 * TEACHER_METRIC_WARN_RATIO - 0.01
    [(level, text)] = _logged(current_log, TeacherMetricHook(published),
                              {'teacher.mIoU': low})
    assert level == logging.WARNING
    assert 'Below 50% of it' in text and 'model.teacher_ckpt' in text
    [(level, text)] = _logged(current_log, TeacherMetricHook(None),
                              {'teacher.mIoU': 1.4})
    assert text == ('Teacher: validation mIoU 1.40 (the metafiles state no '
                    'published mIoU for its weights).')


# --------------------------------------------------------------------------
# image classification: MMPretrain networks in MMRazor's ImageNet KD config
# --------------------------------------------------------------------------
@pytest.fixture(scope='module')
def kd_resnet34_resnet18():
    """MMRazor's KD R34 -> R18 algorithm with randomly initialised
    MMPretrain networks (its teacher_ckpt is the released R34's URL)."""
    import copy
    import os.path as osp

    import mmrazor
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmrazor.registry import MODELS
    cfg = Config.fromfile(osp.join(
        osp.dirname(mmrazor.__file__), '.mim', 'configs', 'distill', 'mmcls',
        'kd', 'kd_logits_resnet34_resnet18_8xb32_in1k.py'))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.teacher_ckpt = None
    with DefaultScope.overwrite_default_scope('mmrazor'):
        return MODELS.build(model_cfg), cfg.model.teacher_ckpt


def _mmpretrain_network(config, num_classes=1000):
    from mmengine.hub import get_config
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    model = get_config(f'mmpretrain::{config}').model
    model.head.num_classes = num_classes
    # other tests' runners leave their default scope behind
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        return MODELS.build(model)


def test_resnet50_checkpoint_for_a_resnet34_teacher(kd_resnet34_resnet18,
                                                    tmp_path):
    model, _ = kd_resnet34_resnet18
    path = _save(tmp_path / 'resnet50.pth', _mmpretrain_network(
        'resnet/resnet50_8xb32_in1k.py').state_dict())
    with pytest.raises(RunRefused) as err:
        _check(model, path)
    message = str(err.value)
    assert message.startswith(
        f'model.teacher_ckpt = {path} does not fit the teacher of this '
        'config: 32 have another shape (e.g. backbone.layer1.0.conv1.weight '
        '(model (64, 64, 3, 3), checkpoint (64, 64, 1, 1)), ')
    assert ('; 85 of its 267 tensors belong to no teacher weight (e.g. '
            'backbone.layer1.0.conv3.weight, ') in message
    assert ("It is the checkpoint of a ResNet-50, and this config's teacher "
            'is a ResNet-34: give a ResNet-34 checkpoint as '
            'model.teacher_ckpt (the teacher trained for this config, or its '
            'release), or make model.teacher a ResNet-50 to distil from that '
            'one.') in message
    assert message.endswith('add --allow-partial-teacher.')
    # the teacher's own network fits
    _check(model, _save(tmp_path / 'resnet34.pth',
                        model.teacher.state_dict()))


def test_classifier_of_another_class_count(kd_resnet34_resnet18, tmp_path):
    model, _ = kd_resnet34_resnet18
    path = _save(tmp_path / 'resnet34_100.pth', _mmpretrain_network(
        'resnet/resnet34_8xb32_in1k.py', num_classes=100).state_dict())
    with pytest.raises(RunRefused) as err:
        _check(model, path)
    assert ('Only the classifier differs (head.fc.weight: 100 classes in '
            'the checkpoint, 1000 in this config): a teacher trained on '
            'another dataset.') in str(err.value)


def test_teacher_top1_is_logged_next_to_mmpretrains(kd_resnet34_resnet18,
                                                    current_log):
    """A classification teacher: its top-1 next to MMPretrain's metafile
    figure for the released weights the config names."""
    from mmtat.checks import published_teacher_result
    _, teacher_ckpt = kd_resnet34_resnet18
    published = published_teacher_result(teacher_ckpt)
    assert (published.value, published.metric) == (73.62, 'top-1')
    metrics = {'accuracy/top1': 40.0, 'teacher.accuracy/top1': 73.1,
               'teacher.accuracy/top5': 91.0}
    [(level, text)] = _logged(current_log, TeacherMetricHook(published),
                              metrics)
    assert level == logging.INFO
    assert text == (f'Teacher: validation top-1 73.10; published 73.62 for '
                    f'{published.model} ({published.source}).')
    [(level, text)] = _logged(current_log, TeacherMetricHook(published),
                              dict(metrics, **{'teacher.accuracy/top1': 0.1}))
    assert level == logging.WARNING and 'Below 50% of it' in text
    # a segmentation figure is no figure for a classifier
    [(_, text)] = _logged(current_log, TeacherMetricHook(PublishedResult(
        77.92, 'deeplabv3_r101', 'a metafile')), metrics)
    assert text == ('Teacher: validation top-1 73.10 (the metafiles state no '
                    'published top-1 for its weights).')
