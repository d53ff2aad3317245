"""LeanSingleTeacherDistill on MMPretrain's classifiers: every shipped
image classification distillation config (TaT on layer4; KD, DKD, DIST,
WSLD on the logits of ``head.fc``) records, with the lean teacher pass, the
very tensors MMRazor's ``teacher(..., mode='loss')`` records, and gives
bitwise the same losses and gradients; the teacher stops after the last
recorded module (TaT: after ``backbone.layer4``, no pooling and no
classifier; the logit methods: after ``head.fc``, no loss).

The baselines are MMRazor's configs with MMRazor's ``SingleTeacherDistill``;
here they are built as ``LeanSingleTeacherDistill`` (their only change), so
that the lean pass is measured on their recorders too."""
import copy
import os.path as osp

import pytest
import torch
from classification_configs import classification_entries, random_cls_batch
from mmengine.registry import DefaultScope
from mmrazor.registry import MODELS
from parsed_configs import load_config

import mmtat  # noqa: F401  (compat first; registers the algorithm)
from mmtat.checks import make_offline
from mmtat.models import LeanSingleTeacherDistill

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
SIZE = 64

#: the TaT configs: the teacher's pooling and classifier must not run
TAT = ('configs/tat/resnet34_resnet18_in1k.py',
       'configs/tat/resnet34_resnet18_in1k_pretrained.py',
       'configs/tat/resnet34_resnet18_in1k_release.py',
       'configs/tat/resnet50_mobilenetv2_in1k.py')
#: the logit methods read head.fc: only the head's loss must not run
LOGITS = tuple(
    f'configs/baselines/{name}_in1k{variant}.py'
    for name in ('kd_resnet34_resnet18', 'dkd_resnet34_resnet18',
                 'dist_resnet34_resnet18', 'wsld_resnet34_resnet18')
    for variant in ('', '_pretrained')) + (
        'configs/baselines/kd_resnet50_mobilenetv2_in1k.py',
        'configs/baselines/dist_resnet50_mobilenetv2_in1k.py')
#: config -> the teacher modules the lean pass must not run
SKIPPED = {
    **{path: ('neck', 'head') for path in TAT},
    **{path: ('head.loss_module', ) for path in LOGITS},
}

#: one thread per test (tests/conftest.py: one_thread)
pytestmark = pytest.mark.usefixtures('one_thread')


def test_every_classification_distillation_config_has_a_case():
    configs = sorted(m['Config'] for m in classification_entries()
                     if 'Teacher' in m['Metadata'])
    assert sorted(SKIPPED) == configs


def build(path: str):
    cfg = load_config(osp.join(REPO, path))
    make_offline(cfg, 'train')
    cfg.model.architecture.pop('init_cfg', None)
    cfg.model.type = 'LeanSingleTeacherDistill'
    if cfg.model.distiller.type == 'TaTClsDistiller':
        cfg.model.distiller.input_size = (SIZE, SIZE)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(copy.deepcopy(cfg.model))
    return cfg, model


def loss_records_grads(model, scope):
    model.train()
    model.zero_grad(set_to_none=True)
    with DefaultScope.overwrite_default_scope(scope):
        data = model.data_preprocessor(random_cls_batch(SIZE), True)
        losses = model.loss(data['inputs'], data['data_samples'])
    total, _ = model.parse_losses(losses)
    total.backward()
    recorders = model.distiller.teacher_recorders
    records = {}
    for mapping in model.distiller.loss_forward_mappings.values():
        for spec in mapping.values():
            if not spec['from_student']:
                records[spec['recorder']] = recorders.get_recorder(
                    spec['recorder']).get_record_data(
                        spec.get('record_idx', 0),
                        spec.get('data_idx')).detach().clone()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()
             if p.grad is not None}
    losses = {k: v.detach().clone() for k, v in losses.items()}
    return total.detach(), records, grads, losses


@pytest.mark.parametrize('path', sorted(SKIPPED))
def test_lean_pass_equals_mmrazors_pass(path):
    cfg, model = build(path)
    assert isinstance(model, LeanSingleTeacherDistill)
    assert model.lean_teacher and model.teacher_pass == 'lean'
    ran = {name: 0 for name in SKIPPED[path]}
    handles = [model.teacher.get_submodule(name).register_forward_hook(
        lambda *_, name=name: ran.__setitem__(name, ran[name] + 1))
        for name in ran]
    try:
        lean = loss_records_grads(model, cfg.default_scope)
    finally:
        for handle in handles:
            handle.remove()
    assert ran == dict.fromkeys(ran, 0), ran
    model.lean_teacher = False  # MMRazor's teacher(..., mode='loss')
    assert model.teacher_pass == 'full: lean_teacher=False'
    full = loss_records_grads(model, cfg.default_scope)
    # what the losses read: the same tensors, bit for bit
    assert lean[1].keys() == full[1].keys() and lean[1]
    for name in full[1]:
        assert torch.equal(lean[1][name], full[1][name]), name
    assert torch.equal(lean[0], full[0])
    assert lean[3].keys() == full[3].keys()
    for name in full[3]:
        assert torch.equal(lean[3][name], full[3][name]), name
    assert lean[2].keys() == full[2].keys() and lean[2]
    for name in full[2]:
        assert torch.equal(lean[2][name], full[2][name]), name
    assert not any(n.startswith('teacher.') for n in full[2])
