"""MMPretrain beside MMSegmentation and MMRazor in one process: the
registries do not clash, and MMRazor's own ImageNet distillation config
(written for ``mmcls`` 1.0.0rc) builds from MMPretrain's networks and takes
a training step."""
import copy
import os.path as osp

import torch

import mmtat  # noqa: F401  (compat first)


def test_three_codebases_import_together():
    import mmpretrain.models  # noqa: F401
    import mmrazor.models  # noqa: F401
    import mmseg.models  # noqa: F401
    from mmpretrain.registry import MODELS as PRETRAIN_MODELS
    from mmrazor.registry import MODELS as RAZOR_MODELS
    from mmseg.registry import MODELS as SEG_MODELS

    assert PRETRAIN_MODELS.get('ImageClassifier').__module__.startswith(
        'mmpretrain.')
    assert SEG_MODELS.get('EncoderDecoder').__module__.startswith('mmseg.')
    assert RAZOR_MODELS.get('SingleTeacherDistill') is not None
    assert RAZOR_MODELS.get('TaTLoss') is not None


def test_mmrazor_dkd_imagenet_config_takes_a_step(one_thread):
    import mmrazor
    from mmengine.config import Config
    from mmengine.optim import OptimWrapper
    from mmengine.registry import DefaultScope
    from mmpretrain.structures import DataSample
    from mmrazor.registry import MODELS

    path = osp.join(osp.dirname(mmrazor.__file__), '.mim', 'configs',
                    'distill', 'mmcls', 'dkd',
                    'dkd_resnet34_resnet18_8xb32_in1k.py')
    cfg = Config.fromfile(path)
    assert cfg.model.architecture.cfg_path.startswith('mmcls::')
    model_cfg = copy.deepcopy(cfg.model)
    # offline: no ImageNet weights for the teacher
    model_cfg.teacher.pretrained = False
    model_cfg.teacher_ckpt = None
    with DefaultScope.overwrite_default_scope('mmrazor'):
        model = MODELS.build(model_cfg)
    assert type(model.student).__name__ == 'ImageClassifier'
    assert type(model.teacher).__name__ == 'ImageClassifier'
    assert model.student.backbone.depth == 18
    assert model.teacher.backbone.depth == 34
    model.train()

    torch.manual_seed(0)
    images = torch.randint(0, 256, (2, 3, 64, 64), dtype=torch.uint8)
    samples = [DataSample().set_gt_label(label) for label in (3, 997)]
    data = dict(inputs=list(images), data_samples=samples)
    optim = OptimWrapper(
        torch.optim.SGD(model.student.parameters(), lr=0.1))
    teacher_before = copy.deepcopy(model.teacher.state_dict())
    student_before = model.student.head.fc.weight.detach().clone()
    losses = model.train_step(data, optim)
    assert set(losses) >= {'loss', 'distill.loss_dkd'}, sorted(losses)
    assert torch.isfinite(losses['distill.loss_dkd'])
    assert losses['distill.loss_dkd'] > 0
    assert not torch.equal(model.student.head.fc.weight, student_before)
    for key, value in model.teacher.state_dict().items():
        assert torch.equal(value, teacher_before[key]), key
