"""Every shipped config builds offline and takes one training step on a
random batch at a small crop, as the Runner would build it (the config's
default scope, SyncBN as BN in one process, the dry run's shrunk sizes):

* the losses are finite; a distillation config's distillation losses are
  there, positive, and reach the student down to its first layer and the
  modules it records, never the frozen teacher; the distiller's own weights
  (connectors, TaT's embeddings) get gradients;
* a student-only config's losses reach its first layer.

The full two-iteration Runner runs (data pipeline, hooks, validation,
checkpoint) are shared, one per table: test_config_zoo.py.  The image
classification configs take their step in test_classification_configs.py.
"""
import glob
import os.path as osp

import pytest
import torch
from classification_configs import is_classification
from dry_run_sizes import crop_height
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import MODELS, DefaultScope
from parsed_configs import load_config
from random_batch import random_seg_batch

import mmtat  # noqa: F401  (compat fixes and registration first)
from mmtat.checks.dry_run import dry_run_crop, shrink_for_dry_run

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BATCH = 2  # ASPP's image-pooling branch has BatchNorm on a 1x1 map


def shipped_configs():
    return sorted(
        osp.relpath(p, REPO)
        for p in glob.glob(osp.join(REPO, 'configs', '*', '*.py'))
        if osp.basename(osp.dirname(p)) != '_base_')


def segmentation_configs():
    return [p for p in shipped_configs() if not is_classification(p)]


def _build(path, tmp_path):
    cfg = load_config(osp.join(REPO, path))
    crop = dry_run_crop(cfg, crop_height(path))
    cfg = shrink_for_dry_run(cfg, data_root=str(tmp_path / 'data'),
                             work_dir=str(tmp_path / 'work'), crop=crop)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope',
                                                      'mmseg')):
        model = MODELS.build(cfg.model)
    return cfg, crop, revert_sync_batchnorm(model)


def _grad_reaches(module):
    return any(p.grad is not None and p.grad.abs().sum() > 0
               for p in module.parameters())


def _student_sources(distiller):
    return sorted({r.source for r in
                   distiller.student_recorders.recorders.values()})


def test_every_config_is_stepped():
    assert len(shipped_configs()) > 60
    assert all(p.startswith(('configs/tat/', 'configs/baselines/'))
               for p in shipped_configs())


@pytest.mark.parametrize('path', segmentation_configs())
def test_config_takes_a_training_step(path, tmp_path, one_thread):
    torch.manual_seed(0)
    cfg, crop, model = _build(path, tmp_path)
    model.train()
    distills = 'distiller' in cfg.model
    student = model.architecture if distills else model
    num_classes = student.decode_head.num_classes
    data = model.data_preprocessor(random_seg_batch(crop, num_classes), True)
    assert data['inputs'].shape == (BATCH, 3) + crop
    losses = model(data['inputs'], data['data_samples'], mode='loss')
    values = {k: v for k, v in losses.items() if 'loss' in k}
    assert values
    for name, value in values.items():
        assert torch.isfinite(value).all(), (name, value)
    first = next(student.backbone.parameters())

    if not distills:
        assert not any(k.startswith('distill.') for k in losses)
        sum(v.sum() for v in values.values()).backward()
        assert first.grad is not None and first.grad.abs().sum() > 0
        return

    distill = {k: v for k, v in losses.items() if k.startswith('distill.')}
    assert set(distill) == {
        f'distill.{name}' for name in model.distiller.distill_losses}
    assert all(name.startswith('distill.loss_') for name in distill)
    for name, value in distill.items():
        assert value.dim() == 0 and value.item() > 0, (name, value)
    # the student's own losses are there too, the teacher's are not
    assert any(k.startswith('student.') for k in losses)
    assert not any(k.startswith('teacher.') for k in losses)

    # the distillation losses alone reach the student down to its first
    # layer and every module it records (a recorded norm layer of a
    # pre-activation pair included), never the teacher
    model.zero_grad(set_to_none=True)
    sum(distill.values()).backward()
    assert first.grad is not None and first.grad.abs().sum() > 0
    for source in _student_sources(model.distiller):
        recorded = student.get_submodule(source)
        if any(True for _ in recorded.parameters()):
            assert _grad_reaches(recorded), source
    assert all(p.grad is None for p in model.teacher.parameters())
    # connectors (FitNets, MGD, CWD's pooling has none) and TaT's
    # embeddings are trained too
    trainable = [p for p in model.distiller.parameters() if p.requires_grad]
    assert all(p.grad is not None for p in trainable)
