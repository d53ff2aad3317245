"""TaTDistiller: one dict adds TaT to MMRazor's SingleTeacherDistill (as
mmtat's LeanSingleTeacherDistill, which hands over the crop) on
MMSegmentation's own networks; channels, maps and grids are found when the
algorithm is built, and bad paths, outputs and geometries fail there.

Networks are MMSegmentation's configs (``mmseg::``) built offline with random
weights at small crops; a few error cases use two-layer toy networks.
"""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.hub import get_config
from mmengine.model import BaseModel, revert_sync_batchnorm
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from random_batch import random_seg_batch
from torch import nn

import mmtat  # noqa: F401  (compat first; registers TaTDistiller)
from mmtat.models import TaTDistiller, TaTLoss, TokensToMap

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
# geometry that fits the 8x8 (stride 8) and 16x16 (stride 4) maps of a
# 64x64 input
SMALL = dict(patch_size=(2, 2), patches_per_group=2, anchor_window=(2, 2))
NUM_CLASSES = 19


def mmseg_network(name: str) -> dict:
    """The ``model`` of an MMSegmentation config, offline (no pretrained
    weights), without its pre-processor (the algorithm has one)."""
    model = copy.deepcopy(get_config(f'mmseg::{name}.py').model.to_dict())
    model.pop('data_preprocessor', None)
    model['pretrained'] = None
    model['backbone'].pop('init_cfg', None)
    model['_scope_'] = 'mmseg'
    return model


R18 = 'deeplabv3/deeplabv3_r18-d8_4xb2-80k_cityscapes-512x1024'
R101 = 'deeplabv3/deeplabv3_r101-d8_4xb2-80k_cityscapes-512x1024'
PSP_R101 = 'pspnet/pspnet_r101-d8_4xb4-40k_voc12aug-512x512'
MIT_B0 = 'segformer/segformer_mit-b0_8xb1-160k_cityscapes-1024x1024'


def algorithm_cfg(student, teacher, distiller, crop=(64, 64)) -> dict:
    return dict(
        _scope_='mmrazor',
        type='LeanSingleTeacherDistill',
        data_preprocessor=dict(
            type='mmseg.SegDataPreProcessor', mean=MEAN, std=STD,
            bgr_to_rgb=True, pad_val=0, seg_pad_val=255,
            size=None if crop is None else tuple(crop)),
        architecture=student,
        teacher=teacher,
        distiller=distiller)


def build(cfg):
    from mmrazor.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmseg'):  # as the Runner
        model = MODELS.build(cfg)
    return revert_sync_batchnorm(model)


def batch(crop=(64, 64), size=2, seed=0):
    return random_seg_batch(crop, NUM_CLASSES, size, seed)


#: one thread per test (tests/conftest.py: one_thread)
pytestmark = pytest.mark.usefixtures('one_thread')


def train_two_iterations(model, crop=(64, 64)):
    """Two optimiser steps; returns the logged values of both."""
    optim = build_optim_wrapper(
        model, dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)))
    model.train()
    logs = []
    for seed in (0, 1):
        out = model.train_step(batch(crop, seed=seed), optim)
        logs.append({k: float(torch.as_tensor(v).detach())
                     for k, v in out.items()})
    return logs


# ----------------------------------------------------------------------
# three pairs of MMSegmentation networks
# ----------------------------------------------------------------------
PAIRS = {
    # same architecture family: DeepLabV3 R101-D8 -> R18-D8
    'deeplabv3_r101_to_r18': (R101, dict(
        bottleneck=dict(student='decode_head.bottleneck',
                        teacher='decode_head.bottleneck')),
        dict(bottleneck=((128, (8, 8)), (512, (8, 8)), False))),
    # different heads: PSPNet R101-D8 -> DeepLabV3 R18-D8
    'pspnet_r101_to_deeplabv3_r18': (PSP_R101, dict(
        bottleneck=dict(student='decode_head.bottleneck',
                        teacher='decode_head.bottleneck')),
        dict(bottleneck=((128, (8, 8)), (512, (8, 8)), False))),
    # a transformer teacher: SegFormer MiT-B0 -> DeepLabV3 R18-D8, on
    # (B, N, C) tokens of its second stage (stride 8) and on its fused
    # decoder map (stride 4, the student is resized up to it)
    'segformer_mitb0_to_deeplabv3_r18': (MIT_B0, dict(
        stage2=dict(student='decode_head.bottleneck',
                    teacher='backbone.layers.1.2'),
        decoder=dict(student='decode_head.bottleneck',
                     teacher='decode_head.fusion_conv')),
        dict(stage2=((128, (8, 8)), (64, (8, 8)), True),
             decoder=((128, (8, 8)), (256, (16, 16)), False))),
}


@pytest.mark.parametrize('pair', sorted(PAIRS))
def test_builds_on_mmseg_networks_and_trains_two_iterations(pair):
    teacher_name, features, expected = PAIRS[pair]
    torch.manual_seed(0)
    model = build(algorithm_cfg(
        mmseg_network(R18), mmseg_network(teacher_name),
        dict(type='TaTDistiller', features=features, **SMALL)))
    distiller = model.distiller
    assert isinstance(distiller, TaTDistiller)
    found = {row['name']: row for row in distiller.feature_pairs}
    for name, (student, teacher, tokens) in expected.items():
        assert (found[name]['student']['channels'],
                found[name]['student']['map_size']) == student
        assert (found[name]['teacher']['channels'],
                found[name]['teacher']['map_size']) == teacher
        assert found[name]['teacher']['tokens'] is tokens
        loss = distiller.distill_losses[f'loss_tat_{name}']
        assert isinstance(loss, TaTLoss)
        assert (loss.student_channels, loss.teacher_channels) == (
            student[0], teacher[0])
        mapping = distiller.loss_forward_mappings[f'loss_tat_{name}']
        assert ('connector' in mapping['preds_T']) is tokens
    # the embeddings exist before any optimiser: built with the algorithm
    params = dict(model.named_parameters())
    assert all(f'distiller.distill_losses.loss_tat_{n}.query_embed.0.weight'
               in params for n in expected)

    before = copy.deepcopy(model.state_dict())
    logs = train_two_iterations(model)
    for log in logs:
        for name in expected:
            assert log[f'distill.loss_tat_{name}'] > 0
    after = model.state_dict()
    for name in expected:
        key = f'distiller.distill_losses.loss_tat_{name}.query_embed.0.weight'
        assert not torch.equal(before[key], after[key])
    assert all(torch.equal(before[k], after[k]) for k in before
               if k.startswith('teacher.') and 'num_batches' not in k)


def test_token_features_with_a_class_token_become_maps():
    """A ViT's layers output (B, 1 + H*W, C): the class token is dropped
    and the positions become a (B, C, H, W) map, inferred or declared."""
    teacher = dict(
        _scope_='mmseg', type='EncoderDecoder',
        backbone=dict(type='VisionTransformer', img_size=(64, 64),
                      patch_size=8, embed_dims=32, num_layers=2,
                      num_heads=2, out_indices=(1, ), with_cls_token=True,
                      output_cls_token=False, final_norm=True),
        decode_head=dict(type='FCNHead', in_channels=32, channels=16,
                         num_convs=1, num_classes=NUM_CLASSES,
                         norm_cfg=dict(type='BN')))
    for side in ('backbone.layers.1',
                 dict(module='backbone.layers.1', token_hw=(8, 8))):
        model = build(algorithm_cfg(
            mmseg_network(R18), copy.deepcopy(teacher),
            dict(type='TaTDistiller',
                 features=dict(vit=dict(student='decode_head.bottleneck',
                                        teacher=side)), **SMALL)))
        row = model.distiller.feature_pairs[0]['teacher']
        assert (row['channels'], row['map_size'], row['tokens']) == (
            32, (8, 8), True)
        connector = model.distiller.connectors['vit_teacher_tokens_to_map']
        assert isinstance(connector, TokensToMap)
        assert connector.extra_tokens == 1
        logs = train_two_iterations(model)
        assert all(log['distill.loss_tat_vit'] > 0 for log in logs)


# ----------------------------------------------------------------------
# the old form (ConfigurableDistiller + TaTLoss) and the new one
# ----------------------------------------------------------------------
def test_old_and_new_forms_give_the_same_loss_and_gradients():
    """configs/tat/deeplabv3_r101_r18_voc.py (TaTDistiller, geometry in
    positions) against the same configuration written with grid counts,
    ..._voc_tatloss.py (ConfigurableDistiller + TaTLoss with grid counts),
    on the same weights:
    the losses on the real 64x64 maps of 512x512 crops, then the whole
    algorithm on a 128x128 batch (16x16 maps, where the old form's grids
    are those that give the new form's sizes)."""
    models = {}
    for form in ('old', 'old_at_128', 'new'):
        name = 'voc' if form == 'new' else 'voc_tatloss'
        cfg = Config.fromfile(
            osp.join(REPO, f'configs/tat/deeplabv3_r101_r18_{name}.py'))
        cfg.merge_from_dict({
            'model.teacher_ckpt': None, 'model.teacher.pretrained': None,
            'model.architecture.pretrained': None,
            'model.data_preprocessor.size': (128, 128)
        })
        if form == 'old_at_128':
            # 8x8 patches on a 16x16 map: grid 2, and its 4 patches are one
            # group of 4; 4x4 anchor windows: grid 4
            cfg.merge_from_dict({
                'model.distiller.distill_losses.loss_tat.patch_grid': (2, 2),
                'model.distiller.distill_losses.loss_tat.num_heads': 1,
                'model.distiller.distill_losses.loss_tat.anchor_grid': (4, 4)
            })
        torch.manual_seed(0)
        models[form] = build(cfg.model)
    new = models['new']
    for old in (models['old'], models['old_at_128']):
        old.load_state_dict({
            k.replace('loss_tat_bottleneck.', 'loss_tat.'): v
            for k, v in new.state_dict().items()
        }, strict=True)

    # the shipped settings on the real maps of a 512x512 crop
    torch.manual_seed(0)
    preds_s = torch.randn(2, 128, 64, 64)
    preds_t = torch.randn(2, 512, 64, 64)
    results = {}
    for form in ('old', 'new'):
        losses = models[form].distiller.distill_losses
        loss_module = next(iter(losses.values()))
        loss_module.train()
        s = preds_s.clone().requires_grad_()
        value = loss_module(s, preds_t)
        grads = torch.autograd.grad(value, [s] + list(
            loss_module.parameters()))
        results[form] = (value, grads)
    torch.testing.assert_close(results['new'][0], results['old'][0],
                               rtol=0, atol=0)
    for got, want in zip(results['new'][1], results['old'][1]):
        torch.testing.assert_close(got, want, rtol=0, atol=0)

    # the whole algorithm: the recorders hand the same features over
    data = batch((128, 128), size=2)
    losses = {}
    for form in ('old_at_128', 'new'):
        model = models[form]
        model.train()
        processed = model.data_preprocessor(copy.deepcopy(data), True)
        torch.manual_seed(1)  # the heads' dropout
        with torch.no_grad():
            out = model.loss(processed['inputs'], processed['data_samples'])
        losses[form] = {k: float(v) for k, v in out.items()}
    assert losses['new']['distill.loss_tat_bottleneck'] == \
        losses['old_at_128']['distill.loss_tat'] > 0
    assert losses['new']['student.decode.loss_ce'] == \
        losses['old_at_128']['student.decode.loss_ce']


# ----------------------------------------------------------------------
# per-pair settings
# ----------------------------------------------------------------------
def test_pairs_have_their_own_weights_and_geometry():
    model = build(algorithm_cfg(
        mmseg_network(R18), mmseg_network(R18),
        dict(type='TaTDistiller', loss_weight=0.1, anchor_weight=0.4,
             features=dict(
                 bottleneck=dict(student='decode_head.bottleneck',
                                 teacher='decode_head.bottleneck'),
                 stage3=dict(student='backbone.layer3',
                             teacher='backbone.layer3', loss_weight=0.5,
                             patch_grid=(2, 2), num_heads=4,
                             student_channels=256, teacher_channels=256)),
             **SMALL)))
    losses = model.distiller.distill_losses
    assert losses['loss_tat_bottleneck'].loss_weight == 0.1
    assert losses['loss_tat_bottleneck'].patch_size == (2, 2)
    assert losses['loss_tat_stage3'].loss_weight == 0.5
    assert losses['loss_tat_stage3'].anchor_weight == 0.4
    assert losses['loss_tat_stage3'].patch_grid == (2, 2)
    assert losses['loss_tat_stage3'].patch_size is None
    assert losses['loss_tat_stage3'].num_heads == 4
    assert losses['loss_tat_stage3'].anchor_window == (2, 2)


def test_the_listed_options_are_tat_loss_arguments_with_its_defaults():
    """TaTDistiller lists the options it hands to TaTLoss; the list is
    every TaTLoss argument but the channels and the geometry."""
    import inspect

    from mmtat.models.distillers import tat_distiller
    found = {
        name: p.default
        for name, p in inspect.signature(TaTLoss).parameters.items()
        if name not in ('student_channels', 'teacher_channels') +
        tat_distiller._GEOMETRY_KEYS
    }
    assert dict(tat_distiller._LOSS_DEFAULTS) == found


def test_memory_and_speed_options_reach_the_loss():
    model = toy_algorithm('conv', 'conv', large_attention_positions=16,
                          chunk_elements=4096, cpu_step_bytes=1 << 10,
                          large_attention_kernel='chunked',
                          contiguous_embedding_grad=False,
                          pair=dict(logit_floor=30.0), **SMALL)
    loss = model.distiller.distill_losses['loss_tat_f']
    assert (loss.large_attention_positions, loss.chunk_elements,
            loss.cpu_step_bytes, loss.large_attention_kernel,
            loss.logit_floor, loss.contiguous_embedding_grad) == (
                16, 4096, 1 << 10, 'chunked', 30.0, False)
    default = toy_algorithm('conv', 'conv').distiller.distill_losses[
        'loss_tat_f']
    assert default.large_attention_positions == TaTLoss(
        1, 1).large_attention_positions
    with pytest.raises(ValueError, match=(
            r"features\['f'\]: large_attention_kernel must be one of "
            r"\(None, 'sdpa', 'chunked'\), got 'flash'")):
        TaTDistiller(features=dict(f=dict(student='conv', teacher='conv')),
                     large_attention_kernel='flash')


def test_multilayer_config_logs_each_pair():
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/tat/deeplabv3_r101_r18_voc_multilayer.py'))
    cfg.merge_from_dict({
        'model.teacher_ckpt': None, 'model.teacher.pretrained': None,
        'model.architecture.pretrained': None,
        'model.data_preprocessor.size': (128, 128)
    })
    model = build(cfg.model)
    rows = {r['name']: r for r in model.distiller.feature_pairs}
    assert set(rows) == {'bottleneck', 'stage3'}
    assert rows['stage3']['student']['channels'] == 256
    assert rows['stage3']['teacher']['channels'] == 1024
    logs = train_two_iterations(model, crop=(128, 128))
    for log in logs:
        assert log['distill.loss_tat_bottleneck'] > 0
        assert log['distill.loss_tat_stage3'] > 0


# ----------------------------------------------------------------------
# errors at build time
# ----------------------------------------------------------------------
class Toy(BaseModel):
    """conv (stride 4) -> pooled vector; 'loss' mode for the algorithm."""

    def __init__(self, channels: int = 8) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, channels, 3, stride=4, padding=1)
        self.vector = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.pair = nn.Identity()
        self.unused = nn.Conv2d(channels, channels, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = self.conv(inputs)
        self.pair((x, x))
        v = self.vector(x)
        if mode == 'loss':
            return dict(loss=x.mean() + v.mean())
        return x


def toy_algorithm(student, teacher, crop=(32, 32), **distiller):
    from mmrazor.registry import MODELS
    features = dict(f=dict(student=student, teacher=teacher))
    features['f'].update(distiller.pop('pair', {}))
    cfg = dict(type='TaTDistiller', features=features)
    cfg.update(distiller or SMALL)
    with DefaultScope.overwrite_default_scope('mmrazor'):
        return MODELS.build(
            dict(type='LeanSingleTeacherDistill',
                 data_preprocessor=dict(type='mmseg.SegDataPreProcessor',
                                        size=crop),
                 architecture=Toy(4), teacher=Toy(8), distiller=cfg))


@pytest.mark.parametrize('student,teacher,match', [
    ('conv', 'cnov', r"features\['f'\].teacher: the teacher \(Toy\) has no "
     r"module 'cnov'. Did you mean: conv\?"),
    ('decode_head', 'conv', r"no module 'decode_head'"),
    ('conv', 'pair', r"features\['f'\].teacher: 'pair' outputs a tuple of "
     r'2: \[0\] \(1, 8, 8, 8\), \[1\] \(1, 8, 8, 8\) for a 32x32 input; TaT '
     r"needs one feature map: pick one with teacher=dict\(module='pair', "
     r'index=1\)'),
    ('conv', dict(module='conv', index=0),
     r"index=0 needs a tuple or list output: drop index"),
    ('conv', dict(module='pair', index=2), r'index=2 is out of range'),
    ('vector.1', 'conv',
     r"'vector.1' outputs a tensor of shape \(1, 4\) for a 32x32 input, "
     r'which cannot be a feature map'),
    ('conv', 'unused', r"'unused' did not run in a forward pass of the "
     r'teacher'),
])
def test_bad_modules_fail_at_build(student, teacher, match):
    with pytest.raises(ValueError, match=match):
        toy_algorithm(student, teacher)


def test_a_geometry_that_does_not_fit_fails_at_build():
    with pytest.raises(ValueError, match=(
            r"features\['f'\]: patch_size=\(16, 16\) is larger than the "
            r"feature map \(8, 8\). The teacher feature 'conv' is 8x8 for a "
            r'32x32 input \(data_preprocessor.size\)')):
        toy_algorithm('conv', 'conv', patch_size=16)
    with pytest.raises(ValueError, match='patches_per_group=3 must divide'):
        toy_algorithm('conv', 'conv', patch_size=2, patches_per_group=3)


def test_declared_channels_are_checked():
    with pytest.raises(ValueError, match=(
            r"features\['f'\]: teacher_channels=16 but 'conv' has 8 "
            'channels')):
        toy_algorithm('conv', 'conv', pair=dict(teacher_channels=16),
                      **SMALL)
    model = toy_algorithm('conv', 'conv', pair=dict(
        student_channels=4, teacher_channels=8), **SMALL)
    loss = model.distiller.distill_losses['loss_tat_f']
    assert (loss.student_channels, loss.teacher_channels) == (4, 8)


def test_input_size_comes_from_the_preprocessor_or_the_argument():
    with pytest.raises(ValueError, match='needs the training input size'):
        toy_algorithm('conv', 'conv', crop=None)
    model = toy_algorithm('conv', 'conv', crop=None, input_size=(64, 48),
                          **SMALL)
    assert model.distiller.feature_pairs[0]['teacher']['map_size'] == (16,
                                                                       12)


def test_tokens_that_are_no_grid_ask_for_token_hw():
    class Tokens(Toy):

        def forward(self, inputs, data_samples=None, mode='tensor'):
            x = self.conv(inputs)
            tokens = x.flatten(2).transpose(1, 2)[:, :-3]  # 61 tokens
            self.pair(tokens)
            return super().forward(inputs, data_samples, mode)

    from mmrazor.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmrazor'):
        with pytest.raises(ValueError, match=(
                r'61 tokens are no grid of any stride of the input; .*'
                r'token_hw=\(H, W\)')):
            MODELS.build(dict(
                type='LeanSingleTeacherDistill',
                data_preprocessor=dict(type='mmseg.SegDataPreProcessor',
                                       size=(32, 32)),
                architecture=Toy(4), teacher=Tokens(8),
                distiller=dict(type='TaTDistiller', features=dict(
                    f=dict(student='conv', teacher='pair')), **SMALL)))


@pytest.mark.parametrize('kwargs,error,match', [
    (dict(features={}), TypeError, 'features must be a non-empty dict'),
    (dict(features=dict(f=dict(student='conv'))), KeyError,
     r"features\['f'\] needs a 'teacher' module path"),
    (dict(features=dict(f=dict(student='conv', teacher='conv',
                               patch_sizes=(2, 2)))), KeyError,
     r"unknown key 'patch_sizes'. Did you mean: patch_size"),
    (dict(features=dict(f=dict(student=dict(module='conv', idx=1),
                               teacher='conv'))), KeyError,
     r"features\['f'\].student has unknown key 'idx'"),
    (dict(features={'my.pair': dict(student='conv', teacher='conv')}),
     ValueError, 'must be identifiers'),
    (dict(features=dict(f=dict(student='conv', teacher='conv',
                               patch_grid=4, patch_size=2))), ValueError,
     r"features\['f'\]: give patch_grid or patch_size, not both"),
    (dict(features=dict(f=dict(student='conv', teacher='conv')),
          anchor_weight=-1), ValueError,
     r"features\['f'\]: anchor_weight must be non-negative"),
    (dict(features=dict(f=dict(student='conv', teacher='conv')),
          distill_losses=dict()), TypeError,
     'TaTDistiller builds its own recorders, losses'),
])
def test_bad_configs_fail_when_the_distiller_is_built(kwargs, error, match):
    with pytest.raises(error, match=match):
        TaTDistiller(**kwargs)


# ----------------------------------------------------------------------
# pre-activation features, and features an in-place operation changes
# ----------------------------------------------------------------------
def spy_loss_inputs(model, name):
    """Keep what the recorders hand to the distill loss ``name``."""
    seen = {}
    loss = model.distiller.distill_losses[name]
    forward = loss.forward

    def spy(preds_S, preds_T):
        seen['S'], seen['T'] = preds_S, preds_T
        return forward(preds_S, preds_T)

    loss.forward = spy
    return seen


def keep_outputs(model, paths):
    """Copies of the outputs of ``paths`` (hooks that return None)."""
    kept = {}
    modules = dict(model.named_modules())
    for path in paths:

        def keep(module, inputs, output, path=path):
            kept[path] = output.detach().clone()

        modules[path].register_forward_hook(keep)
    return kept


@pytest.mark.parametrize('side', [
    dict(module='decode_head.bottleneck', pre_activation=True),
    'decode_head.bottleneck.bn',
], ids=['pre_activation', 'norm_layer_path'])
def test_the_loss_gets_the_norm_output_of_both_networks(side, monkeypatch):
    """The release distils the decoder feature before its last ReLU; MMCV's
    ConvModule applies that ReLU in place, so without a copy the loss
    would get the post-ReLU values (minimum exactly 0)."""
    import mmtat.models.distillers.tat_distiller as module
    logged = []
    monkeypatch.setattr(module, 'print_log',
                        lambda msg, **kwargs: logged.append(msg))
    torch.manual_seed(0)
    model = build(algorithm_cfg(
        mmseg_network(R18), mmseg_network(R101),
        dict(type='TaTDistiller',
             features=dict(b=dict(student=side, teacher=side)), **SMALL)))
    if isinstance(side, str):
        # the probe found the in-place ReLU and switched to a copy
        assert len(logged) == 2 and all(
            "'decode_head.bottleneck.activate' (ReLU(inplace=True))" in m
            and 'recording a copy' in m for m in logged), logged
    else:
        assert logged == []
    seen = spy_loss_inputs(model, 'loss_tat_b')
    norms = {
        side_name: keep_outputs(
            getattr(model, net), ['decode_head.bottleneck.bn'])
        for side_name, net in (('S', 'student'), ('T', 'teacher'))
    }
    model.train()
    data = model.data_preprocessor(batch(), True)
    losses = model.loss(data['inputs'], data['data_samples'])
    for side_name in ('S', 'T'):
        reached = seen[side_name].detach()
        assert reached.min() < 0  # negatives kept
        torch.testing.assert_close(
            reached, norms[side_name]['decode_head.bottleneck.bn'],
            rtol=0, atol=0)
    # TaT's gradient alone reaches the student's norm layer
    model.zero_grad()
    losses['distill.loss_tat_b'].backward()
    bn = model.student.decode_head.bottleneck.bn
    assert bn.weight.grad is not None and bn.weight.grad.abs().sum() > 0


class InPlaceAfter(BaseModel):
    """A stride-4 conv block followed by an in-place activation, in four
    ways; ``RECORD`` is the recorded module and ``CULPRIT`` where the
    in-place operation runs."""
    RECORD = dict(norm='block.bn', conv='block.conv', module='block',
                  functional='block')
    CULPRIT = dict(
        norm="'block.activate' (ReLU(inplace=True))",
        conv="'block.activate' (ReLU(inplace=True))",
        module="'act' (ReLU(inplace=True))",
        functional="'the network' (the forward code of InPlaceAfter)")

    def __init__(self, case: str, channels: int) -> None:
        from mmcv.cnn import ConvModule
        super().__init__()
        self.case = case
        norm_cfg = None if case == 'conv' else dict(type='BN')
        act_cfg = dict(type='ReLU') if case in ('norm', 'conv') else None
        self.block = ConvModule(3, channels, 3, stride=4, padding=1,
                                norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.act = nn.ReLU(inplace=True)
        self.head = nn.Conv2d(channels, channels, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = self.block(inputs)
        if self.case == 'module':
            x = self.act(x)
        elif self.case == 'functional':
            x = torch.relu_(x)
        x = self.head(x)
        return dict(loss=x.mean()) if mode == 'loss' else x


@pytest.mark.parametrize('case', list(InPlaceAfter.RECORD))
def test_a_record_changed_in_place_later_is_copied_and_logged(
        case, monkeypatch):
    from mmrazor.registry import MODELS

    import mmtat.models.distillers.tat_distiller as module
    logged = []
    monkeypatch.setattr(module, 'print_log',
                        lambda msg, **kwargs: logged.append(msg))
    path = InPlaceAfter.RECORD[case]
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmrazor'):
        model = MODELS.build(dict(
            type='LeanSingleTeacherDistill',
            data_preprocessor=dict(type='mmseg.SegDataPreProcessor',
                                   size=(32, 32)),
            architecture=InPlaceAfter(case, 4),
            teacher=InPlaceAfter(case, 8),
            distiller=dict(type='TaTDistiller',
                           features=dict(f=dict(student=path, teacher=path)),
                           **SMALL)))
    assert len(logged) == 2, logged
    for side, message in zip(('student', 'teacher'), logged):
        assert f"features['f'].{side}: the output of {path!r} is changed " \
            f'in place later, in {InPlaceAfter.CULPRIT[case]}' in message
    seen = spy_loss_inputs(model, 'loss_tat_f')
    model.train()
    losses = model.loss(torch.randn(2, 3, 32, 32))
    assert losses['distill.loss_tat_f'] > 0
    assert seen['S'].min() < 0 and seen['T'].min() < 0


def test_a_record_changed_in_place_during_training_is_refused():
    """What the probe cannot see (here: the ReLU made in-place after the
    model was built) still never reaches the loss."""
    from mmtat.compat import RecordChangedInPlace
    model = toy_algorithm('conv', 'conv')
    model.student.conv.register_forward_hook(
        lambda m, i, o: None if o.relu_() is None else None)
    with pytest.raises(RecordChangedInPlace, match=r"of 'conv'"):
        model.loss(torch.randn(2, 3, 32, 32))


def test_pre_activation_errors_name_the_module():
    from mmcv.cnn import ConvModule
    with pytest.raises(ValueError, match=r"features\['f'\]\.student: "
                       r"pre_activation: 'conv' ends with no activation"):
        toy_algorithm(dict(module='conv', pre_activation=True), 'conv')
    with pytest.raises(TypeError, match=r'pre_activation must be True or '
                       r'False, got 1'):
        toy_algorithm(dict(module='conv', pre_activation=1), 'conv')
    with pytest.raises(ValueError, match='drop index or pre_activation'):
        toy_algorithm(dict(module='conv', pre_activation=True, index=0),
                      'conv')

    class ActThenAdd(InPlaceAfter):
        """The block's activation is not its last operation."""

        def __init__(self, channels):
            super().__init__('norm', channels)
            self.block.forward = (
                lambda x, f=self.block.forward: f(x) + 1)

    with pytest.raises(ValueError, match='not the output of its last '
                       "activation layer 'block.activate'"):
        from mmrazor.registry import MODELS
        with DefaultScope.overwrite_default_scope('mmrazor'):
            MODELS.build(dict(
                type='LeanSingleTeacherDistill',
                data_preprocessor=dict(type='mmseg.SegDataPreProcessor',
                                       size=(32, 32)),
                architecture=ActThenAdd(4), teacher=ActThenAdd(8),
                distiller=dict(type='TaTDistiller', features=dict(f=dict(
                    student=dict(module='block', pre_activation=True),
                    teacher='block')), **SMALL)))
    del ConvModule
