"""LeanSingleTeacherDistill: the frozen teacher computes only what the
distiller records, with the same records, losses and gradients as MMRazor's
``teacher(..., mode='loss')``; channels-last networks; the training input
size handed to TaTDistiller without looking at the call stack.

Dropout layers are put in eval mode wherever two passes are compared: the
full pass runs dropout layers that the lean pass skips (the teacher's
auxiliary head), which would shift the random masks of the student's
dropout layers that run afterwards, so that its losses would differ for a
reason that has nothing to do with the teacher's records.
"""
import copy
import io
import logging
import os.path as osp
import re

import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.model import BaseModel, revert_sync_batchnorm
from mmengine.registry import DefaultScope
from mmrazor.registry import MODELS
from random_batch import random_seg_batch
from torch import nn

import mmtat  # noqa: F401  (compat first; registers the algorithm)
from mmtat.checks.dry_run import dry_run_crop, shrink_for_dry_run
from mmtat.models import LeanSingleTeacherDistill

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]

#: One case per teacher network and distiller (recorders, connectors,
#: losses); the configs it stands for differ from it only in the dataset
#: (class count, crop, teacher checkpoint) or in the losses' settings
#: (weights; TaT's geometry in the ablations).
SHIPPED_CASES = {
    'configs/tat/deeplabv3_r101_r18_voc.py': [
        'configs/tat/deeplabv3_r101_r18_cocostuff10k.py',
        'configs/tat/deeplabv3_r101_r18_cityscapes.py',
        'configs/tat/deeplabv3_r101_r18_camvid.py',
        'configs/tat/deeplabv3_r101_r18_ade20k.py',
        'configs/tat/deeplabv3_r101_r18_voc_anchor_only.py',
        'configs/tat/deeplabv3_r101_r18_voc_patch_only.py',
        'configs/tat/deeplabv3_r101_r18_voc_global.py'],
    'configs/tat/deeplabv3_r101_r18_voc_multilayer.py': [],
    'configs/tat/deeplabv3_r101_r18_voc_tatloss.py': [],
    'configs/baselines/kd_deeplabv3_r101_r18_voc.py': [
        'configs/baselines/kd_deeplabv3_r101_r18_cocostuff10k.py',
        'configs/baselines/kd_deeplabv3_r101_r18_cityscapes.py',
        'configs/baselines/kd_deeplabv3_r101_r18_camvid.py',
        'configs/baselines/kd_deeplabv3_r101_r18_ade20k.py'],
    'configs/baselines/cwd_deeplabv3_r101_r18_voc.py': [
        'configs/baselines/cwd_deeplabv3_r101_r18_cocostuff10k.py',
        'configs/baselines/cwd_deeplabv3_r101_r18_cityscapes.py',
        'configs/baselines/cwd_deeplabv3_r101_r18_camvid.py',
        'configs/baselines/cwd_deeplabv3_r101_r18_ade20k.py'],
    'configs/baselines/dist_deeplabv3_r101_r18_voc.py': [
        'configs/baselines/dist_deeplabv3_r101_r18_cocostuff10k.py',
        'configs/baselines/dist_deeplabv3_r101_r18_cityscapes.py',
        'configs/baselines/dist_deeplabv3_r101_r18_camvid.py',
        'configs/baselines/dist_deeplabv3_r101_r18_ade20k.py'],
    'configs/baselines/fitnets_deeplabv3_r101_r18_voc.py': [
        'configs/baselines/fitnets_deeplabv3_r101_r18_cocostuff10k.py',
        'configs/baselines/fitnets_deeplabv3_r101_r18_cityscapes.py'],
    'configs/baselines/at_deeplabv3_r101_r18_voc.py': [
        'configs/baselines/at_deeplabv3_r101_r18_cocostuff10k.py',
        'configs/baselines/at_deeplabv3_r101_r18_cityscapes.py'],
    'configs/baselines/mgd_deeplabv3_r101_r18_voc.py': [
        'configs/baselines/mgd_deeplabv3_r101_r18_cocostuff10k.py',
        'configs/baselines/mgd_deeplabv3_r101_r18_cityscapes.py'],
    'configs/tat/deeplabv3plus_r101_r18_voc.py': [
        'configs/tat/deeplabv3plus_r101_r18_cocostuff10k.py',
        'configs/tat/deeplabv3plus_r101_r18_voc_global.py'],
    'configs/baselines/kd_deeplabv3plus_r101_r18_voc.py': [
        'configs/baselines/kd_deeplabv3plus_r101_r18_cocostuff10k.py'],
    'configs/baselines/cwd_deeplabv3plus_r101_r18_voc.py': [
        'configs/baselines/cwd_deeplabv3plus_r101_r18_cocostuff10k.py'],
    'configs/baselines/dist_deeplabv3plus_r101_r18_voc.py': [
        'configs/baselines/dist_deeplabv3plus_r101_r18_cocostuff10k.py'],
    # the release's recipe: pre-activation feature, teacher in train mode
    'configs/tat/deeplabv3plus_r101_r18_voc_release.py': [
        'configs/tat/deeplabv3plus_r101_r18_voc_release_val513.py',
        'configs/tat/deeplabv3plus_r101_r18_cocostuff10k_release.py',
        'configs/tat/deeplabv3plus_r101_r18_cocostuff10k_release_val513.py'],
    # the MobileNetV2 student (DeepLabV3+ head on its stride-8 stage 6)
    'configs/tat/deeplabv3plus_r101_mobilenetv2_voc.py': [
        'configs/tat/deeplabv3plus_r101_mobilenetv2_cocostuff10k.py',
        'configs/tat/deeplabv3plus_r101_mobilenetv2_cityscapes.py',
        'configs/tat/deeplabv3plus_r101_mobilenetv2_ade20k.py'],
    'configs/tat/deeplabv3plus_r101_mobilenetv2_voc_release.py': [
        'configs/tat/deeplabv3plus_r101_mobilenetv2_voc_release_val513.py',
        'configs/tat/deeplabv3plus_r101_mobilenetv2_cocostuff10k_release.py',
        'configs/tat/'
        'deeplabv3plus_r101_mobilenetv2_cocostuff10k_release_val513.py'],
    'configs/baselines/kd_deeplabv3plus_r101_mobilenetv2_voc.py': [
        'configs/baselines/kd_deeplabv3plus_r101_mobilenetv2_cocostuff10k.py',
        'configs/baselines/kd_deeplabv3plus_r101_mobilenetv2_cityscapes.py',
        'configs/baselines/kd_deeplabv3plus_r101_mobilenetv2_ade20k.py'],
    'configs/baselines/cwd_deeplabv3plus_r101_mobilenetv2_voc.py': [
        'configs/baselines/cwd_'
        'deeplabv3plus_r101_mobilenetv2_cocostuff10k.py',
        'configs/baselines/cwd_deeplabv3plus_r101_mobilenetv2_cityscapes.py',
        'configs/baselines/cwd_deeplabv3plus_r101_mobilenetv2_ade20k.py'],
    'configs/baselines/dist_deeplabv3plus_r101_mobilenetv2_voc.py': [
        'configs/baselines/dist_'
        'deeplabv3plus_r101_mobilenetv2_cocostuff10k.py',
        'configs/baselines/dist_deeplabv3plus_r101_mobilenetv2_cityscapes.py',
        'configs/baselines/dist_deeplabv3plus_r101_mobilenetv2_ade20k.py'],
    'configs/tat/segformer_mitb5_deeplabv3_r18_cityscapes.py': [],
    'configs/baselines/cwd_segformer_mitb5_deeplabv3_r18_cityscapes.py': [],
    'configs/tat/segformer_mitb5_mitb0_ade20k.py': [],
    'configs/baselines/kd_segformer_mitb5_mitb0_ade20k.py': [],
    'configs/baselines/cwd_segformer_mitb5_mitb0_ade20k.py': [],
    'configs/baselines/dist_segformer_mitb5_mitb0_ade20k.py': [],
}
#: what each case's teacher pass must leave out: (module, why)
SKIPPED = {
    'decode_head.conv_seg': 'the classifier, after the recorded bottleneck',
    'auxiliary_head': 'the auxiliary head',
}


#: one thread per test (tests/conftest.py: one_thread)
pytestmark = pytest.mark.usefixtures('one_thread')


def batch(crop, size=2, num_classes=19, seed=0):
    return random_seg_batch(crop, num_classes, batch_size=size, seed=seed)


def dropout_off(model):
    for module in model.modules():
        if isinstance(module, nn.modules.dropout._DropoutNd) or type(
                module).__name__ == 'DropPath':
            module.eval()


def loss_records_grads(model, data):
    """One loss + backward step: the total loss, the teacher records the
    losses read, and every gradient."""
    model.train()
    dropout_off(model)
    model.zero_grad(set_to_none=True)
    with DefaultScope.overwrite_default_scope('mmseg'):
        inputs = model.data_preprocessor(copy.deepcopy(data), True)
        torch.manual_seed(1)
        losses = model.loss(inputs['inputs'], inputs['data_samples'])
    total, _ = model.parse_losses(losses)
    total.backward()
    recorders = model.distiller.teacher_recorders
    records = {}
    for mapping in model.distiller.loss_forward_mappings.values():
        for spec in mapping.values():
            if not spec['from_student']:
                records[spec['recorder']] = recorders.get_recorder(
                    spec['recorder']).get_record_data(
                        spec.get('record_idx', 0)).detach().clone()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()
             if p.grad is not None}
    return total.detach(), records, grads


def calls(model, prefixes):
    """Hooks counting the forward calls of modules under ``prefixes``."""
    counts = {p: 0 for p in prefixes}
    handles = []
    for name, module in model.named_modules():
        for prefix in prefixes:
            if name == prefix or name.startswith(prefix + '.'):

                def count(*_, prefix=prefix):
                    counts[prefix] += 1

                handles.append(module.register_forward_hook(count))
    return counts, handles


# ----------------------------------------------------------------------
# every shipped distillation config
# ----------------------------------------------------------------------
def distillation_configs():
    """The shipped segmentation configs with a teacher (their metafile
    entries; the image classification ones:
    test_lean_classification.py)."""
    found = []
    for path in ('configs/tat/metafile.yml', 'configs/baselines/metafile.yml'):
        with open(osp.join(REPO, path)) as f:
            found += [m['Config'] for m in yaml.safe_load(f)['Models']
                      if 'Teacher' in m['Metadata'] and all(
                          r['Task'] == 'Semantic Segmentation'
                          for r in m['Results'])]
    return sorted(found)


def test_every_shipped_distillation_config_has_a_case():
    covered = list(SHIPPED_CASES) + [
        p for group in SHIPPED_CASES.values() for p in group
    ]
    assert len(covered) == len(set(covered))
    assert sorted(covered) == distillation_configs()


_NETWORKS = {}


def shrunk_model_cfg(path, tmp_path):
    cfg = Config.fromfile(osp.join(REPO, path))
    # TaT's 8x8 patches in groups of 4 need a 16-row map: 128 rows at
    # output stride 8; the others run at 64
    height = 128 if path.startswith('configs/tat/deeplabv3_r101_') else 64
    crop = dry_run_crop(cfg, height)
    cfg = shrink_for_dry_run(cfg, data_root=str(tmp_path),
                             work_dir=str(tmp_path), crop=crop)
    return cfg.model, crop


def build_shipped(path, tmp_path):
    """The config's algorithm at a small crop, with its networks built once
    per network pair and crop (the distiller and algorithm are the
    config's own)."""
    model_cfg, crop = shrunk_model_cfg(path, tmp_path)
    key = repr((model_cfg.teacher, model_cfg.architecture, crop))
    if key not in _NETWORKS:
        torch.manual_seed(0)
        with DefaultScope.overwrite_default_scope('mmseg'):
            _NETWORKS[key] = tuple(
                revert_sync_batchnorm(MODELS.build(model_cfg[part]))
                for part in ('teacher', 'architecture'))
    model_cfg.teacher, model_cfg.architecture = _NETWORKS[key]
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = revert_sync_batchnorm(MODELS.build(model_cfg))
    return model, crop


@pytest.mark.parametrize('path', sorted(SHIPPED_CASES))
def test_shipped_config_records_and_losses_equal_mmrazors_pass(
        path, tmp_path):
    model, crop = build_shipped(path, tmp_path)
    assert isinstance(model, LeanSingleTeacherDistill)
    assert model.lean_teacher and model.teacher_pass == 'lean'
    classes = model.student.decode_head.num_classes
    data = batch(crop, num_classes=classes)
    skipped = [m for m in SKIPPED
               if not any(spec.startswith(m) for spec in (
                   r.source for r in
                   model.distiller.teacher_recorders.recorders.values()))]
    counts, handles = calls(model.teacher, skipped)
    try:
        lean = loss_records_grads(model, data)
    finally:
        for handle in handles:
            handle.remove()
    assert counts == {m: 0 for m in skipped}, [SKIPPED[m] for m in counts
                                               if counts[m]]
    model.lean_teacher = False
    assert model.teacher_pass == 'full: lean_teacher=False'
    full = loss_records_grads(model, data)
    assert lean[1].keys() == full[1].keys() and lean[1]
    for name in full[1]:
        assert torch.equal(lean[1][name], full[1][name]), name
    assert torch.equal(lean[0], full[0])
    assert lean[2].keys() == full[2].keys() and lean[2]
    for name in full[2]:
        assert torch.equal(lean[2][name], full[2][name]), name


# ----------------------------------------------------------------------
# the pass on a small teacher (DeepLabV3 R18-D8 teaching itself)
# ----------------------------------------------------------------------
def r18_segmentor():
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/_base_/deeplabv3_r101_r18_distill.py'))
    net = cfg.model.architecture.to_dict()
    net['pretrained'] = None
    for head in ('decode_head', 'auxiliary_head'):
        net[head]['num_classes'] = 19
    for part in ('backbone', 'decode_head', 'auxiliary_head'):
        net[part]['norm_cfg'] = dict(type='BN', requires_grad=True)
    return net


LOGITS = dict(logits=dict(type='ModuleOutputs',
                          source='decode_head.conv_seg'))


def small_algorithm(teacher_recorders, losses=None, mappings=None,
                    student_recorders=None, crop=(64, 64), **options):
    """R18 -> R18 with the given teacher recorders; by default an MSE of
    each against the student's conv_seg logits."""
    if mappings is None:
        losses = {f'loss_{n}': dict(type='mmrazor.L2Loss', normalize=False)
                  for n in teacher_recorders}
        mappings = {
            f'loss_{n}': dict(
                s_feature=dict(from_student=True, recorder='logits'),
                t_feature=dict(from_student=False, recorder=n))
            for n in teacher_recorders
        }
    cfg = dict(
        type='LeanSingleTeacherDistill',
        data_preprocessor=dict(
            type='mmseg.SegDataPreProcessor', mean=MEAN, std=STD,
            bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size=crop),
        architecture=r18_segmentor(),
        teacher=r18_segmentor(),
        distiller=dict(
            type='ConfigurableDistiller',
            student_recorders=student_recorders or LOGITS,
            teacher_recorders=teacher_recorders,
            distill_losses=losses,
            loss_forward_mappings=mappings),
        **options)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmrazor'):
        return revert_sync_batchnorm(MODELS.build(cfg))


@pytest.mark.parametrize('norm_eval', [True, False],
                         ids=['norm_eval', 'teacher_in_train_mode'])
def test_stops_after_the_last_recorded_module(norm_eval):
    """Recorded: a backbone stage. Nothing after it runs, in eval or train
    mode of the teacher's norm layers; the records are MMRazor's."""
    stage = dict(stage=dict(type='ModuleOutputs', source='backbone.layer2'))
    model = small_algorithm(
        stage, student_recorders=stage,
        losses=dict(loss_at=dict(type='mmrazor.ATLoss')),
        mappings=dict(loss_at=dict(
            s_feature=dict(from_student=True, recorder='stage'),
            t_feature=dict(from_student=False, recorder='stage'))),
        teacher_norm_eval=norm_eval)
    assert model.teacher_pass == 'lean'
    data = batch((64, 64))
    later = ['backbone.layer3', 'backbone.layer4', 'decode_head',
             'auxiliary_head']
    counts, handles = calls(model.teacher, ['backbone.layer2'] + later)
    lean = loss_records_grads(model, data)
    for handle in handles:
        handle.remove()
    assert counts['backbone.layer2'] > 0
    assert all(counts[m] == 0 for m in later), counts
    model.train()
    training = [m.training for m in model.teacher.modules()
                if isinstance(m, nn.BatchNorm2d)]
    assert all(t is not norm_eval for t in training)
    model.lean_teacher = False
    full = loss_records_grads(model, data)
    assert torch.equal(lean[1]['stage'], full[1]['stage'])
    assert torch.equal(lean[0], full[0])


def test_a_recorded_auxiliary_head_runs_without_its_loss():
    model = small_algorithm(
        dict(aux=dict(type='ModuleOutputs',
                      source='auxiliary_head.conv_seg')))
    assert model.teacher_pass == 'lean'
    data = batch((64, 64))
    counts, handles = calls(model.teacher, [
        'auxiliary_head.conv_seg', 'auxiliary_head.loss_decode',
        'decode_head'
    ])
    lean = loss_records_grads(model, data)
    for handle in handles:
        handle.remove()
    # its classifier runs, its loss and the decode head (nothing recorded
    # there) do not
    assert counts == {'auxiliary_head.conv_seg': 1,
                      'auxiliary_head.loss_decode': 0, 'decode_head': 0}
    model.lean_teacher = False
    full = loss_records_grads(model, data)
    assert torch.equal(lean[1]['aux'], full[1]['aux'])
    assert torch.equal(lean[0], full[0])


def test_a_second_record_of_a_module_is_waited_for():
    """A loss reading record_idx=1 of a module that runs twice: the pass
    goes on until the second record exists."""

    class Twice(BaseModel):

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.head = nn.Conv2d(4, 4, 1)

        def forward(self, inputs, data_samples=None, mode='tensor'):
            y = self.head(self.conv(inputs))
            z = self.head(y)
            if mode == 'loss':
                return dict(loss=z.mean())
            return z

    cfg = dict(
        type='LeanSingleTeacherDistill', architecture=Twice(),
        teacher=Twice(),
        distiller=dict(
            type='ConfigurableDistiller',
            student_recorders=dict(h=dict(type='ModuleOutputs',
                                          source='head')),
            teacher_recorders=dict(h=dict(type='ModuleOutputs',
                                          source='head')),
            distill_losses=dict(loss_mse=dict(type='mmrazor.L2Loss')),
            loss_forward_mappings=dict(loss_mse=dict(
                s_feature=dict(from_student=True, recorder='h',
                               record_idx=1),
                t_feature=dict(from_student=False, recorder='h',
                               record_idx=1)))))
    with DefaultScope.overwrite_default_scope('mmrazor'):
        model = MODELS.build(cfg)
    losses = model.loss(torch.randn(2, 3, 8, 8))
    assert len(model.distiller.teacher_recorders.get_recorder(
        'h').data_buffer) == 2
    assert losses['distill.loss_mse'] > 0


@pytest.fixture
def mmengine_log():
    """What mmengine's current logger writes during a test."""
    from mmengine.logging import MMLogger
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield stream
    logger.removeHandler(handler)


def test_a_module_that_runs_only_in_loss_mode_falls_back_once(mmengine_log):
    """A recorder on the teacher's loss module: not reached by the lean
    pass, so MMRazor's pass runs (on that iteration too), logged once."""
    recorders = dict(LOGITS, ce=dict(type='ModuleOutputs',
                                     source='decode_head.loss_decode'))
    model = small_algorithm(
        recorders,
        losses=dict(loss_kd=dict(type='mmrazor.L2Loss', normalize=False)),
        mappings=dict(loss_kd=dict(
            s_feature=dict(from_student=True, recorder='logits'),
            t_feature=dict(from_student=False, recorder='logits'))))
    assert model.teacher_pass == 'lean'
    data = batch((64, 64))
    first = loss_records_grads(model, data)
    assert model.teacher_pass == (
        "full: teacher recorder(s) 'ce' did not record what the losses read "
        "in the lean pass (mode='tensor'), so their modules run only in "
        "mode='loss'")
    assert mmengine_log.getvalue().count(
        "the teacher runs MMRazor's whole pass from now on") == 1
    ce = model.distiller.teacher_recorders.get_recorder('ce').data_buffer
    assert len(ce) == 1 and ce[0].dim() == 0
    again = loss_records_grads(model, data)
    assert mmengine_log.getvalue().count('whole pass') == 1
    model.lean_teacher = False
    full = loss_records_grads(model, data)
    assert torch.equal(again[1]['logits'], full[1]['logits'])
    assert torch.equal(first[0], full[0])


@pytest.mark.parametrize('change,reason', [
    (dict(lean_teacher=False), 'lean_teacher=False'),
    (dict(teacher_trainable=True), 'the teacher is trained'),
    (dict(recorder=dict(type='MethodOutputs', source=(
        'mmseg.models.decode_heads.ASPPHead.forward'))),
     "teacher recorder 'logits' is a MethodOutputsRecorder of "
     "'mmseg.models.decode_heads.ASPPHead.forward', not of a module"),
])
def test_what_the_pass_cannot_place_runs_mmrazors_pass(change, reason):
    recorders = copy.deepcopy(LOGITS)
    if 'recorder' in change:
        recorders['logits'] = change.pop('recorder')
    model = small_algorithm(recorders, **change)
    assert model.teacher_pass.startswith(f'full: {reason}')
    counts, handles = calls(model.teacher, ['auxiliary_head'])
    loss_records_grads(model, batch((64, 64)))
    for handle in handles:
        handle.remove()
    assert counts['auxiliary_head'] > 0  # MMRazor's teacher(mode='loss')


@pytest.mark.parametrize('option', [
    'lean_teacher', 'teacher_channels_last', 'student_channels_last'])
def test_switches_must_be_booleans(option):
    with pytest.raises(TypeError,
                       match=f"{option} must be True or False, got 'yes'"):
        small_algorithm(LOGITS, **{option: 'yes'})


def test_channels_last_networks_change_records_by_rounding_only():
    """Channels-last teacher and student against the default layout, with
    MMRazor's ChannelWiseDivergence (which reshapes with ``view``)."""
    cwd = dict(loss_cwd=dict(type='mmrazor.ChannelWiseDivergence', tau=1,
                             loss_weight=5))
    mappings = dict(loss_cwd=dict(
        preds_S=dict(from_student=True, recorder='logits'),
        preds_T=dict(from_student=False, recorder='logits')))
    data = batch((64, 64))
    results = []
    for layout in (False, True):
        model = small_algorithm(
            LOGITS, losses=cwd, mappings=mappings,
            teacher_channels_last=layout, student_channels_last=layout)
        conv = model.teacher.backbone.stem[0].weight
        assert conv.is_contiguous(
            memory_format=torch.channels_last) is layout
        assert model.student.backbone.stem[0].weight.is_contiguous(
            memory_format=torch.channels_last) is layout
        results.append(loss_records_grads(model, data))
        record = model.distiller.teacher_recorders.get_recorder(
            'logits').data_buffer[0]
        assert record.is_contiguous(
            memory_format=torch.channels_last) is layout
    (loss, records, grads), (loss_cl, records_cl, grads_cl) = results

    def relative(a, b):
        return float((a - b).norm() / b.norm())

    assert relative(records_cl['logits'], records['logits']) < 1e-5
    assert relative(loss_cl, loss) < 1e-5
    # all gradients at once: single ones of this random R18 at 64x64 differ
    # by up to 1e-2 between float32 and float64 in either layout (batch
    # statistics of 2x8x8 maps amplify rounding)
    assert grads.keys() == grads_cl.keys()
    assert relative(torch.cat([grads_cl[k].flatten() for k in grads]),
                    torch.cat([grads[k].flatten() for k in grads])) < 1e-2


def test_the_teacher_pass_runs_in_the_runs_autocast_dtype():
    """As under mmengine's AmpOptimWrapper (--amp), whose autocast wraps
    the whole loss(): the lean pass records in the autocast dtype, under
    no_grad and with version counters (no inference tensors)."""
    model = small_algorithm(LOGITS)
    data = batch((64, 64))
    model.train()
    with DefaultScope.overwrite_default_scope('mmseg'):
        inputs = model.data_preprocessor(data, True)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            model.loss(inputs['inputs'], inputs['data_samples'])
    record = model.distiller.teacher_recorders.get_recorder(
        'logits').data_buffer[0]
    assert record.dtype == torch.bfloat16
    assert not record.requires_grad and not record.is_inference()


# ----------------------------------------------------------------------
# the training input size, handed to TaTDistiller
# ----------------------------------------------------------------------
class Toy(BaseModel):
    """conv (stride 4); 'loss' mode for the algorithm."""

    def __init__(self, channels=8, in_channels=3):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, channels, 3, stride=4, padding=1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = self.conv(inputs)
        return dict(loss=x.mean()) if mode == 'loss' else x


class MyDistill(MODELS.get('SingleTeacherDistill')):
    """A user's own algorithm, built on MMRazor's."""


class MyLeanDistill(LeanSingleTeacherDistill):
    """A user's own algorithm, built on mmtat's."""


MODELS.register_module(module=MyDistill, force=True)
MODELS.register_module(module=MyLeanDistill, force=True)
SMALL = dict(patch_size=(2, 2), patches_per_group=2, anchor_window=(2, 2))


def toy_tat(algorithm, crop=(32, 32), image_channels=3, **distiller):
    preprocessor = dict(type='mmseg.SegDataPreProcessor', size=crop,
                        mean=[0.0] * image_channels,
                        std=[1.0] * image_channels)
    with DefaultScope.overwrite_default_scope('mmrazor'):
        return MODELS.build(dict(
            type=algorithm, data_preprocessor=preprocessor,
            architecture=Toy(4, image_channels),
            teacher=Toy(8, image_channels),
            distiller=dict(type='TaTDistiller', features=dict(
                f=dict(student='conv', teacher='conv')), **SMALL,
                **distiller)))


@pytest.mark.parametrize('algorithm', ['LeanSingleTeacherDistill',
                                       'MyLeanDistill'])
def test_mmtats_algorithm_hands_over_the_input_size(algorithm):
    model = toy_tat(algorithm, crop=(64, 48), image_channels=4)
    assert model.distiller._input_size == (64, 48)
    assert model.distiller._in_channels == 4
    assert model.distiller.feature_pairs[0]['teacher']['map_size'] == (16,
                                                                       12)
    losses = model.loss(torch.randn(2, 4, 64, 48))
    assert losses['distill.loss_tat_f'] > 0


@pytest.mark.parametrize('algorithm', ['SingleTeacherDistill', 'MyDistill'])
def test_other_algorithms_need_input_size(algorithm):
    with pytest.raises(ValueError, match=re.escape(
            'give TaTDistiller(input_size=crop_size), or use mmtat\'s '
            "algorithm, model=dict(type='LeanSingleTeacherDistill', ...)")):
        toy_tat(algorithm)
    model = toy_tat(algorithm, input_size=(64, 48))
    assert model.distiller.feature_pairs[0]['teacher']['map_size'] == (16,
                                                                       12)


def test_a_given_input_size_is_kept():
    model = toy_tat('LeanSingleTeacherDistill', crop=(32, 32),
                    input_size=(64, 48))
    assert model.distiller._input_size == (64, 48)


def test_a_given_in_channels_is_checked():
    with pytest.raises(ValueError, match='in_channels must be positive, '
                       'got 0'):
        toy_tat('LeanSingleTeacherDistill', in_channels=0)


@pytest.mark.parametrize('norm_eval', [True, False])
def test_train_and_eval_return_the_module(norm_eval):
    """``model = model.train()`` keeps the model (MMRazor's train()
    returns None); the teacher's norm layers stay as teacher_norm_eval
    says."""
    stage = dict(stage=dict(type='ModuleOutputs', source='backbone.layer2'))
    model = small_algorithm(
        stage, student_recorders=stage,
        losses=dict(loss_at=dict(type='mmrazor.ATLoss')),
        mappings=dict(loss_at=dict(
            s_feature=dict(from_student=True, recorder='stage'),
            t_feature=dict(from_student=False, recorder='stage'))),
        teacher_norm_eval=norm_eval)
    assert model.eval() is model and not model.training
    assert model.train() is model and model.training
    norms = [m.training for m in model.teacher.modules()
             if isinstance(m, nn.BatchNorm2d)]
    assert norms and all(t is not norm_eval for t in norms)
    assert model.train(False) is model and not model.training


def test_a_distiller_input_size_other_than_the_crop_is_logged():
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        filled = LeanSingleTeacherDistill._with_input_geometry(
            dict(type='TaTDistiller', features={}, input_size=(64, 64)),
            dict(data_preprocessor=dict(size=(32, 32))))
        assert filled['input_size'] == (64, 64)  # the config's, as given
        same = LeanSingleTeacherDistill._with_input_geometry(
            dict(type='TaTDistiller', features={}, input_size=(32, 32)),
            dict(data_preprocessor=dict(size=(32, 32))))
        assert same['input_size'] == (32, 32)
    finally:
        logger.removeHandler(handler)
    messages = [r.getMessage() for r in records
                if r.levelno >= logging.WARNING]
    assert messages == [
        'TaTDistiller: input_size=(64, 64) but data_preprocessor.size='
        '(32, 32); the features and the geometry are checked at (64, 64). '
        'Set both to the training crop.'
    ]
