"""TaTClsDistiller: one dict adds TaT, in the form of the authors' ImageNet
release, to MMRazor's SingleTeacherDistill (as mmtat's
LeanSingleTeacherDistill) on MMPretrain's ``ImageClassifier`` pairs: the
features (``backbone.layer4`` by default, a backbone stage by ``index``, any
module path), their channels and maps found when the algorithm is built from
the explicit ``input_size``; the loss equal to a direct computation of the
release's formula; gradients into the student and the embeddings, none into
the teacher; and the errors a config can make, with their fixes.

The networks are MMPretrain's ResNets with random weights at 64x64 inputs
(layer4: 2x2 maps)."""
import copy

import pytest
import torch
import torch.nn.functional as F
from classification_configs import random_cls_batch
from mmengine.registry import DefaultScope
from torch import nn

import mmtat  # noqa: F401  (compat first; registers the distillers)
from mmtat.models import TaTClsDistiller, TaTDistiller, TaTLoss

MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
SIZE = 64

#: one thread per test (tests/conftest.py: one_thread)
pytestmark = pytest.mark.usefixtures('one_thread')


def resnet(depth: int, num_classes: int = 10) -> dict:
    """MMPretrain's ImageNet ResNet classifier (its resnet{depth} config's
    model), with a small head."""
    return dict(
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=dict(type='ResNet', depth=depth, num_stages=4,
                      out_indices=(3, ), style='pytorch'),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=num_classes,
                  in_channels=512 if depth < 50 else 2048,
                  loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
                  topk=(1, 5)))


def algorithm(distiller: dict, student: int = 18, teacher: int = 34):
    from mmrazor.registry import MODELS
    cfg = dict(
        _scope_='mmrazor',
        type='LeanSingleTeacherDistill',
        # MMRazor's ImageNet configs' pre-processor (no size)
        data_preprocessor=dict(type='ImgDataPreprocessor', mean=MEAN,
                               std=STD, bgr_to_rgb=True),
        architecture=resnet(student),
        teacher=resnet(teacher),
        distiller=distiller)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):  # as the Runner
        return MODELS.build(cfg)


def losses_of(model, seed: int = 0):
    model.train()
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        data = model.data_preprocessor(
            random_cls_batch(SIZE, num_classes=10, seed=seed), True)
        return model(data['inputs'], data['data_samples'], mode='loss')


def records(model, name: str = 'layer4'):
    """The student and teacher maps the last loss read (a stage of a
    backbone's output tuple picked as the pair's ``index`` does)."""
    distiller = model.distiller
    found = []
    for side in ('student', 'teacher'):
        record = getattr(distiller, f'{side}_recorders').get_recorder(
            name).data_buffer[0]
        index = distiller._pairs[name][side].index
        found.append(record if index is None else record[index])
    return tuple(found)


# ----------------------------------------------------------------------
# the one dict
# ----------------------------------------------------------------------
def test_defaults_are_the_release_imagenet_form():
    model = algorithm(dict(type='TaTClsDistiller', input_size=(SIZE, SIZE)))
    distiller = model.distiller
    assert type(distiller) is TaTClsDistiller
    assert isinstance(distiller, TaTDistiller)
    (pair, ) = distiller.feature_pairs
    assert pair['name'] == 'layer4'
    for side in ('student', 'teacher'):
        assert pair[side]['module'] == 'backbone.layer4'
        assert pair[side]['channels'] == 512
        # 64 / 32: layer4's stride
        assert pair[side]['map_size'] == (2, 2)
    loss = distiller.distill_losses['loss_tat_layer4']
    assert isinstance(loss, TaTLoss)
    # query and value: Conv3x3 (no bias) + BN on the student; the key is
    # the teacher's map itself
    for embed in (loss.query_embed, loss.value_embed):
        conv, bn = embed
        assert conv.kernel_size == (3, 3) and conv.padding == (1, 1)
        assert conv.bias is None and isinstance(bn, nn.BatchNorm2d)
    assert isinstance(loss.key_embed, nn.Identity)
    assert loss.norm_stats == 'batch'
    # one head of global attention over every position, no anchor stage
    assert (loss.patch_grid, loss.num_heads) == ((1, 1), 1)
    assert loss.anchor_weight == 0 and loss.patch_weight == 1.0
    assert loss.loss_weight == 1.0
    for height in (2, 7):  # 64 and 224 crops
        geometry = loss.geometry(height, height)
        assert geometry.num_heads == 1
        assert geometry.patch_size == (height, height)
        assert geometry.anchor_counts is None
    # the channel count is MMPretrain's, found when the model is built
    assert (loss.student_channels, loss.teacher_channels) == (512, 512)


def test_segmentation_defaults_are_unchanged():
    """TaTDistiller keeps its segmentation defaults: TaTClsDistiller's
    are its own."""
    # built directly, so in MMRazor's scope as a Runner's build would be
    # (another test's Runner may have left mmseg's as the default)
    with DefaultScope.overwrite_default_scope('mmrazor'):
        seg = TaTDistiller(features=dict(f=dict(student='a', teacher='b')))
    loss_cfg = seg._pairs['f']['loss_cfg']
    assert (loss_cfg['embed_kernel_size'], loss_cfg['use_key_embed'],
            loss_cfg['norm_stats'], loss_cfg['anchor_weight']) == (
                1, True, 'per_image', 0.4)
    assert (loss_cfg['patch_size'], loss_cfg['patches_per_group'],
            loss_cfg['anchor_window']) == ((8, 8), 4, (4, 4))
    with pytest.raises(TypeError, match='features must be a non-empty dict'):
        TaTDistiller()


def test_options_override_the_defaults():
    model = algorithm(dict(type='TaTClsDistiller', input_size=(SIZE, SIZE),
                           loss_weight=2.0, norm_stats='per_image',
                           embed_kernel_size=1, patch_size=(1, 1)))
    loss = model.distiller.distill_losses['loss_tat_layer4']
    assert loss.loss_weight == 2.0 and loss.norm_stats == 'per_image'
    assert loss.query_embed[0].kernel_size == (1, 1)
    assert (loss.patch_size, loss.patch_grid) == ((1, 1), None)
    # the other quantity keeps the default form
    assert loss.num_heads == 1


@pytest.mark.parametrize('side', [
    dict(module='backbone', index=0),  # the backbone's stages (out (3, ))
    dict(module='backbone', index=-1),
    'backbone.layer4',
    'backbone.layer4.1',  # layer4's last block: the same map
])
def test_a_feature_is_a_stage_or_a_module_path(side):
    model = algorithm(dict(type='TaTClsDistiller', input_size=(SIZE, SIZE),
                           features=dict(f=dict(student=side,
                                                teacher=side))))
    (pair, ) = model.distiller.feature_pairs
    assert (pair['student']['channels'], pair['student']['map_size']) == (
        512, (2, 2))
    losses = losses_of(model)
    assert losses['distill.loss_tat_f'] > 0
    student, teacher = records(model, 'f')
    assert student.shape == teacher.shape == (2, 512, 2, 2)


def test_other_stages_and_crops_are_found_when_built():
    """A ResNet-50 teacher's layer4 (2048 channels) for a ResNet-18's
    layer3 (256 channels, twice the map), at a 96x64 crop: the student's map
    is resized to the teacher's."""
    model = algorithm(
        dict(type='TaTClsDistiller', input_size=(96, 64),
             features=dict(mixed=dict(student='backbone.layer3',
                                      teacher='backbone.layer4'))),
        student=18, teacher=50)
    (pair, ) = model.distiller.feature_pairs
    assert (pair['student']['channels'], pair['student']['map_size']) == (
        256, (6, 4))
    assert (pair['teacher']['channels'], pair['teacher']['map_size']) == (
        2048, (3, 2))
    loss = model.distiller.distill_losses['loss_tat_mixed']
    assert (loss.student_channels, loss.teacher_channels) == (256, 2048)


# ----------------------------------------------------------------------
# the loss against a direct computation
# ----------------------------------------------------------------------
def release_loss(loss: TaTLoss, f_s: torch.Tensor,
                 f_t: torch.Tensor) -> torch.Tensor:
    """The release's ImageNet TaT term, written out in float64: query and
    value Conv3x3 + BatchNorm with the statistics of the batch, the
    teacher's map as key, one head, ``softmax_j(q_i . k_j)`` without
    scaling over all positions of an image, ``MSE_mean(A v, F_t)``,
    times the loss weight."""

    def embed(seq, x):
        conv, bn = seq
        y = F.conv2d(x, conv.weight.double(), padding=1)
        mean = y.mean(dim=(0, 2, 3), keepdim=True)
        var = y.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
        y = (y - mean) / torch.sqrt(var + bn.eps)
        return y * bn.weight.double().view(1, -1, 1, 1) + \
            bn.bias.double().view(1, -1, 1, 1)

    f_s, f_t = f_s.double(), f_t.double()
    q = embed(loss.query_embed, f_s).flatten(2)  # (B, C, L)
    v = embed(loss.value_embed, f_s).flatten(2)
    k = f_t.flatten(2)
    attention = torch.softmax(q.transpose(1, 2) @ k, dim=-1)  # (B, L, L)
    out = (attention @ v.transpose(1, 2)).transpose(1, 2)  # (B, C, L)
    return loss.loss_weight * ((out - k)**2).mean()


def test_loss_equals_the_release_formula():
    model = algorithm(dict(type='TaTClsDistiller', input_size=(SIZE, SIZE),
                           loss_weight=0.2))
    loss = model.distiller.distill_losses['loss_tat_layer4']
    with torch.no_grad():  # BN weights and biases other than 1 and 0
        for embed in (loss.query_embed, loss.value_embed):
            embed[1].weight.uniform_(0.5, 1.5)
            embed[1].bias.uniform_(-0.5, 0.5)
    before = [loss.query_embed[1].running_mean.clone(),
              loss.value_embed[1].running_mean.clone()]
    expected_state = {k: v.clone() for k, v in loss.state_dict().items()}
    value = losses_of(model)['distill.loss_tat_layer4']
    f_s, f_t = records(model)
    assert f_s.shape == f_t.shape == (2, 512, 2, 2)
    loss.load_state_dict(expected_state)  # the weights the loss used
    expected = release_loss(loss, f_s.detach(), f_t.detach())
    assert value.dtype == torch.float32
    assert value.double().item() == pytest.approx(expected.item(), rel=1e-5)
    # the running statistics received the batch's statistics once
    # (momentum 0.1)
    model.distiller.distill_losses.load_state_dict({
        f'loss_tat_layer4.{k}': v for k, v in expected_state.items()})
    losses_of(model)
    f_s, _ = records(model)
    for embed, start in zip((loss.query_embed, loss.value_embed), before):
        y = F.conv2d(f_s.detach(), embed[0].weight, padding=1)
        assert torch.allclose(embed[1].running_mean,
                              0.9 * start + 0.1 * y.mean(dim=(0, 2, 3)),
                              atol=1e-6)


def test_gradients_reach_the_student_and_embeddings_not_the_teacher():
    model = algorithm(dict(type='TaTClsDistiller', input_size=(SIZE, SIZE)))
    losses = losses_of(model)
    model.zero_grad(set_to_none=True)
    losses['distill.loss_tat_layer4'].backward()
    student = model.student
    # down to the student's first layer, through layer4
    assert student.backbone.conv1.weight.grad.abs().sum() > 0
    assert student.backbone.layer4[1].conv2.weight.grad.abs().sum() > 0
    # not into the student's head: TaT reads layer4
    assert student.head.fc.weight.grad is None
    loss = model.distiller.distill_losses['loss_tat_layer4']
    for embed in (loss.query_embed, loss.value_embed):
        for param in embed.parameters():
            assert param.grad is not None and param.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.teacher.parameters())
    assert not any(p.requires_grad for p in model.teacher.parameters())


def test_the_teacher_stops_after_layer4():
    model = algorithm(dict(type='TaTClsDistiller', input_size=(SIZE, SIZE)))
    assert model.teacher_pass == 'lean'
    ran = []
    handles = [model.teacher.get_submodule(name).register_forward_hook(
        lambda *_, name=name: ran.append(name))
        for name in ('backbone.layer4', 'neck', 'head', 'head.fc')]
    try:
        losses_of(model)
    finally:
        for handle in handles:
            handle.remove()
    assert ran == ['backbone.layer4']


# ----------------------------------------------------------------------
# errors at build time
# ----------------------------------------------------------------------
def test_a_missing_input_size_names_the_fix():
    with pytest.raises(ValueError, match=(
            r"TaTClsDistiller needs the training input size .* The "
            r'ImageClassifier gets its crop from the data pipeline '
            r"\(MMPretrain's data pre-processor has no size\): give the "
            r"training pipeline's crop, e\.g\. RandomResizedCrop\(scale=224"
            r"\), as the distiller's input_size: distiller=dict\("
            r"type='TaTClsDistiller', input_size=\(224, 224\), \.\.\.\)")):
        algorithm(dict(type='TaTClsDistiller'))
    # TaTDistiller on classifiers says the same, with its own name
    with pytest.raises(ValueError,
                       match=r"distiller=dict\(type='TaTDistiller', "
                       r'input_size=\(224, 224\)'):
        algorithm(dict(type='TaTDistiller', features=dict(
            f=dict(student='backbone.layer4', teacher='backbone.layer4'))))


def test_a_module_not_in_the_network_lists_close_matches():
    with pytest.raises(ValueError, match=(
            r"features\['layer4'\]\.student: the student \(ImageClassifier\) "
            r"has no module 'backbone.layer5'\. Did you mean: "
            r'backbone\.layer4')):
        algorithm(dict(type='TaTClsDistiller', input_size=(SIZE, SIZE),
                       features=dict(layer4=dict(student='backbone.layer5',
                                                 teacher='backbone.layer4'))))
    with pytest.raises(ValueError, match=(
            r"features\['layer4'\]\.teacher: the teacher \(ImageClassifier\) "
            r"has no module 'layer4'\. Did you mean: .*backbone\.layer4")):
        algorithm(dict(type='TaTClsDistiller', input_size=(SIZE, SIZE),
                       features=dict(layer4=dict(student='backbone.layer4',
                                                 teacher='layer4'))))


@pytest.mark.parametrize('side,records', [
    # the pooled vector (the neck's output tuple)
    (dict(module='neck', index=0),
     'outputs a tuple of 1: \\[0\\] \\(1, 512\\)'),
    # the logits
    ('head.fc', 'outputs a tensor of shape \\(1, 10\\)'),
])
def test_a_feature_that_is_no_map_fails(side, records):
    module = side if isinstance(side, str) else side['module']
    with pytest.raises(ValueError, match=(
            rf"features\['layer4'\]\.student: '{module}' {records} for a "
            r'64x64 input, which cannot be a feature map: TaT takes '
            r'\(B, C, H, W\) maps')):
        algorithm(dict(type='TaTClsDistiller', input_size=(SIZE, SIZE),
                       features=dict(layer4=dict(student=side,
                                                 teacher='backbone.layer4'))))


def test_the_backbone_tuple_needs_an_index():
    with pytest.raises(ValueError, match=(
            r"'backbone' outputs a tuple of 1: \[0\] \(1, 512, 2, 2\) for a "
            r'64x64 input; TaT needs one feature map: pick one with '
            r"teacher=dict\(module='backbone', index=0\)")):
        algorithm(dict(type='TaTClsDistiller', input_size=(SIZE, SIZE),
                       features=dict(layer4=dict(student='backbone.layer4',
                                                 teacher='backbone'))))


def test_a_geometry_that_does_not_fit_names_input_size():
    with pytest.raises(ValueError, match=(
            r'patch_size=\(4, 4\) is larger than the feature map \(2, 2\)\. '
            r"The teacher feature 'backbone.layer4' is 2x2 for a 64x64 "
            r'input \(input_size\)')):
        algorithm(dict(type='TaTClsDistiller', input_size=(SIZE, SIZE),
                       patch_size=(4, 4)))


def test_the_default_feature_is_refused_where_layer4_is_not_the_last_map():
    """MobileNetV2 has a ``layer4`` (a stride-16 stage), which the default
    pair would distil without a word; its last map is named instead."""
    from mmrazor.registry import MODELS
    mobilenet = dict(
        _scope_='mmpretrain', type='ImageClassifier',
        backbone=dict(type='MobileNetV2', widen_factor=1.0),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=1280))
    cfg = dict(
        _scope_='mmrazor', type='LeanSingleTeacherDistill',
        data_preprocessor=dict(type='ImgDataPreprocessor', mean=MEAN,
                               std=STD, bgr_to_rgb=True),
        architecture=mobilenet, teacher=resnet(50),
        distiller=dict(type='TaTClsDistiller', input_size=(SIZE, SIZE)))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        with pytest.raises(ValueError, match=(
                r"features\['layer4'\]\.student: TaTClsDistiller's default "
                r"feature is 'backbone.layer4', the last stage of a ResNet; "
                r'the student has a MobileNetV2 backbone, whose last map is '
                r"'backbone.conv2': name the features, e\.g\. features=dict\("
                r"last_map=dict\(student='backbone.conv2', \.\.\.\)\)")):
            MODELS.build(copy.deepcopy(cfg))
        cfg['distiller']['features'] = dict(last_map=dict(
            student='backbone.conv2', teacher='backbone.layer4'))
        model = MODELS.build(cfg)
    (pair, ) = model.distiller.feature_pairs
    assert (pair['student']['channels'], pair['student']['map_size']) == (
        1280, (2, 2))
    assert (pair['teacher']['channels'], pair['teacher']['map_size']) == (
        2048, (2, 2))
