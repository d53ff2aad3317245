# Copyright (c) mmtat contributors. All rights reserved.
"""Tests of TaTLoss against the float64 release reference.

The reference (``tests/release_reference.py``, helpers in
``tat_cases.py``) computes what the authors' release computes, image by
image, with ``unfold`` patches, heads as consecutive channel chunks,
attention softmax(q^T k) with no scaling, and BatchNorm written out by hand
on float64 leaf copies of the parameters; it shares no code with the
module. The geometry has its own tests (``test_tat_geometry.py``), the
memory and speed options too (``test_tat_loss_options.py``), and DDP runs
``test_tat_loss_ddp.py``.
"""
import copy
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from release_reference import functional_embeddings
from tat_cases import (
    REFERENCE_CASES,
    compare_with_reference,
    make_module,
    reference,
)

from mmtat.models.losses import tat_loss as tat_loss_module
from mmtat.models.losses.tat_loss import TaTLoss


@pytest.mark.parametrize('name', sorted(REFERENCE_CASES))
def test_matches_reference_float64(name):
    b, cs, ct, h, w, kwargs = REFERENCE_CASES[name]
    mod = make_module(cs, ct, **kwargs).double()
    compare_with_reference(mod, b, h, w, torch.float64, rtol=1e-9,
                           atol=1e-12)


@pytest.mark.parametrize('name', sorted(REFERENCE_CASES))
def test_matches_reference_float32(name):
    b, cs, ct, h, w, kwargs = REFERENCE_CASES[name]
    mod = make_module(cs, ct, **kwargs)
    compare_with_reference(mod, b, h, w, torch.float32, rtol=2e-4,
                           atol=1e-6)


def test_batch_stats_matches_reference_and_differs_from_per_image():
    kwargs = dict(patch_grid=(4, 4), num_heads=4, anchor_grid=(4, 4))
    per_image = make_module(6, 8, **kwargs).double()
    batch = make_module(6, 8, norm_stats='batch', **kwargs).double()
    compare_with_reference(batch, 3, 16, 16, torch.float64, rtol=1e-9,
                           atol=1e-12, image_spread=True)
    compare_with_reference(per_image, 3, 16, 16, torch.float64, rtol=1e-9,
                           atol=1e-12, image_spread=True)
    # The two modes really normalise differently: per image, each image's
    # channel means equal the BN bias; over the batch they do not.
    s = torch.randn(3, 6, 16, 16, dtype=torch.float64)
    s = s * torch.tensor([1., 2., 3.], dtype=s.dtype).view(-1, 1, 1, 1) + \
        torch.tensor([0., 1., 2.], dtype=s.dtype).view(-1, 1, 1, 1)
    t = torch.zeros(3, 8, 16, 16, dtype=torch.float64)
    bias = per_image.query_embed[1].bias.detach().view(1, -1)
    for mod, same in ((per_image, True), (batch, False)):
        q = mod._embed(s, t)[0].detach()
        means = q.mean(dim=(2, 3))
        assert torch.allclose(means, bias.expand_as(means)) == same


@pytest.mark.parametrize('momentum', [0.1, 0.3, None])
def test_per_image_running_stats_match_sequential_bn(momentum):
    mod = make_module(5, 8, patch_grid=(2, 2), num_heads=4,
                      anchor_grid=(2, 2))
    for seq in (mod.query_embed, mod.key_embed, mod.value_embed):
        seq[1].momentum = momentum
    # Expected: the release's B calls of the BN layer on a batch of one.
    seqs = {n: copy.deepcopy(getattr(mod, n))
            for n in ('query_embed', 'key_embed', 'value_embed')}
    s, t = torch.randn(4, 5, 10, 12), torch.randn(4, 8, 10, 12)
    for step in range(2):
        mod(s + step, t - step)
        with torch.no_grad():
            for i in range(s.size(0)):
                seqs['query_embed'](s[i:i + 1] + step)
                seqs['value_embed'](s[i:i + 1] + step)
                seqs['key_embed'](t[i:i + 1] - step)
    for name, seq in seqs.items():
        bn, want = getattr(mod, name)[1], seq[1]
        torch.testing.assert_close(bn.running_mean, want.running_mean)
        torch.testing.assert_close(bn.running_var, want.running_var)
        assert int(bn.num_batches_tracked) == int(want.num_batches_tracked)
        assert int(bn.num_batches_tracked) == 8


def test_batch_running_stats_match_one_bn_call():
    mod = make_module(5, 8, patch_grid=(2, 2), num_heads=4,
                      anchor_grid=(2, 2), norm_stats='batch')
    seq = copy.deepcopy(mod.query_embed)
    s, t = torch.randn(4, 5, 10, 12), torch.randn(4, 8, 10, 12)
    mod(s, t)
    with torch.no_grad():
        seq(s)
    torch.testing.assert_close(mod.query_embed[1].running_mean,
                               seq[1].running_mean)
    torch.testing.assert_close(mod.query_embed[1].running_var,
                               seq[1].running_var)
    assert int(mod.query_embed[1].num_batches_tracked) == 1


@pytest.mark.parametrize('stats', ['per_image', 'batch'])
def test_eval_uses_running_stats(stats):
    mod = make_module(5, 8, patch_grid=(2, 2), num_heads=4,
                      anchor_grid=(2, 2), norm_stats=stats).double()
    with torch.no_grad():
        for seq in (mod.query_embed, mod.key_embed, mod.value_embed):
            seq[1].running_mean.uniform_(-1, 1)
            seq[1].running_var.uniform_(0.5, 2)
    running_mean = mod.query_embed[1].running_mean.clone()
    mod.eval()
    s = torch.randn(2, 5, 8, 8, dtype=torch.float64)
    t = torch.randn(2, 8, 8, 8, dtype=torch.float64)
    # the reference's BN takes the running statistics of eval-mode layers
    want, _ = reference(mod, s, t)
    torch.testing.assert_close(mod(s, t), want, rtol=1e-9, atol=0)
    # Nothing was updated.
    torch.testing.assert_close(mod.query_embed[1].running_mean,
                               running_mean)
    assert int(mod.query_embed[1].num_batches_tracked) == 0


def _fail(*args, **kwargs):
    raise AssertionError('a skipped branch was computed')


@pytest.mark.parametrize('zero', ['patch_weight', 'anchor_weight'])
def test_zero_weight_skips_branch(zero, monkeypatch):
    kwargs = dict(patch_grid=(2, 2), num_heads=4, anchor_grid=(2, 2))
    kwargs[zero] = 0.0
    mod = make_module(5, 8, **kwargs).double()
    skipped = 'stack_patches' if zero == 'patch_weight' else 'pool_anchors'
    monkeypatch.setattr(tat_loss_module, skipped, _fail)
    got = compare_with_reference(mod, 2, 8, 8, torch.float64, rtol=1e-9,
                                 atol=1e-12)
    assert got > 0


@pytest.mark.parametrize('weights', [
    dict(patch_weight=0.0, anchor_weight=0.0),
    dict(loss_weight=0.0),
])
def test_all_zero_weights_compute_nothing(weights, monkeypatch):
    # The grids are even larger than the map: unused, so not an error.
    mod = make_module(5, 8, patch_grid=(9, 9), anchor_grid=(9, 9),
                      num_heads=1, **weights)
    monkeypatch.setattr(mod, '_embed', _fail)
    for name in ('stack_patches', 'pool_anchors'):
        monkeypatch.setattr(tat_loss_module, name, _fail)
    if 'loss_weight' in weights:
        # loss_weight=0 still validates the grids.
        mod.patch_grid = mod.anchor_grid = (2, 2)
    s = torch.randn(2, 5, 4, 4, requires_grad=True)
    loss = mod(s, torch.randn(2, 8, 4, 4))
    assert loss.item() == 0.0 and loss.dtype == torch.float32
    # ... but every parameter and the student feature get a (zero)
    # gradient, as DDP with find_unused_parameters=False needs
    loss.backward()
    assert s.grad is not None and not s.grad.any()
    for name, param in mod.named_parameters():
        assert param.grad is not None and not param.grad.any(), name


def test_global_mode_is_plain_one_to_all():
    mod = make_module(4, 8, patch_grid=(1, 1), num_heads=1,
                      anchor_weight=0.0).double()
    s = torch.randn(2, 4, 7, 9, dtype=torch.float64)
    t = torch.randn(2, 8, 7, 9, dtype=torch.float64)
    embed = functional_embeddings(mod)
    # Plain formula, written out once more without patches or heads.
    sse = 0.0
    for i in range(2):
        q = embed.query(s[i:i + 1]).reshape(8, -1)
        k = embed.key(t[i:i + 1]).reshape(8, -1)
        v = embed.value(s[i:i + 1]).reshape(8, -1)
        attn = torch.softmax(q.t() @ k, dim=-1)
        sse = sse + ((v @ attn.t() - t[i].reshape(8, -1))**2).sum()
    want = sse / t.numel()
    torch.testing.assert_close(mod(s, t), want, rtol=1e-9, atol=0)


def test_resizes_student_bilinear():
    mod = make_module(5, 8, patch_grid=(2, 2), num_heads=4,
                      anchor_grid=(2, 2)).double()
    # The reference resizes with F.interpolate(bilinear,
    # align_corners=False); the gradient reaches the small student map.
    compare_with_reference(mod, 2, 12, 16, torch.float64, rtol=1e-9,
                           atol=1e-12, hs=6, ws=9)


def test_resize_student_false_rejects_size_mismatch():
    mod = make_module(5, 8, patch_grid=(2, 2), num_heads=4,
                      anchor_grid=(2, 2), resize_student=False)
    with pytest.raises(ValueError, match=r'preds_S spatial size \(6, 8\) '
                       r'differs from preds_T spatial size \(12, 16\) and '
                       r'resize_student=False'):
        mod(torch.randn(2, 5, 6, 8), torch.randn(2, 8, 12, 16))


@pytest.mark.parametrize('kwargs,match', [
    (dict(student_channels=0), 'student_channels must be positive, got 0'),
    (dict(teacher_channels=-3), 'teacher_channels must be positive'),
    (dict(num_heads=0), 'num_heads must be positive, got 0'),
    (dict(patch_grid=(0, 2)), r'patch_grid must be positive, got \(0, 2\)'),
    (dict(anchor_grid=-1), r'anchor_grid must be positive, got \(-1, -1\)'),
    (dict(patch_weight=-0.1), 'patch_weight must be non-negative, got -0.1'),
    (dict(anchor_weight=-1), 'anchor_weight must be non-negative'),
    (dict(loss_weight=float('nan')), 'loss_weight must be non-negative'),
    (dict(embed_kernel_size=2), 'embed_kernel_size must be odd, got 2'),
    (dict(embed_kernel_size=0), 'embed_kernel_size must be positive'),
    (dict(norm_stats='group'), "norm_stats must be one of .*'group'"),
])
def test_constructor_errors(kwargs, match):
    args = dict(student_channels=4, teacher_channels=8)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        TaTLoss(**args)


@pytest.mark.parametrize('kwargs,match', [
    (dict(patch_grid=(1, 2, 3)), 'patch_grid must be an int or a pair'),
    (dict(num_heads=2.0), 'num_heads must be an int, got 2.0'),
    (dict(loss_weight='1'), 'loss_weight must be a number'),
])
def test_constructor_type_errors(kwargs, match):
    with pytest.raises(TypeError, match=match):
        TaTLoss(4, 8, **kwargs)


@pytest.mark.parametrize('s_shape,t_shape,kwargs,match', [
    ((2, 4, 8), (2, 8, 8, 8), {},
     r'preds_S must be a 4-D \(B, C, H, W\) tensor, got \(2, 4, 8\)'),
    ((2, 4, 8, 8), (2, 8, 8, 8, 1), {}, 'preds_T must be a 4-D'),
    ((2, 4, 8, 8), (3, 8, 8, 8), {},
     'same batch size, got 2 and 3'),
    ((2, 5, 8, 8), (2, 8, 8, 8), {},
     'preds_S has 5 channels but student_channels=4'),
    ((2, 4, 8, 8), (2, 6, 8, 8), {},
     'preds_T has 6 channels but teacher_channels=8'),
    ((2, 4, 8, 8), (2, 8, 8, 8), dict(num_heads=7),
     r'num_heads=7 must divide the stacked channels P\*Ct = 2\*2\*8 = 32'),
    ((2, 4, 8, 8), (2, 8, 8, 8), dict(patch_grid=(9, 2)),
     r'patch_grid=\(9, 2\) is larger than the feature map \(8, 8\)'),
    ((2, 4, 8, 8), (2, 8, 8, 8), dict(anchor_grid=(2, 12)),
     r'anchor_grid=\(2, 12\) is larger than the feature map \(8, 8\)'),
    ((2, 4, 1, 1), (2, 8, 1, 1), dict(patch_grid=1, anchor_grid=1,
                                      num_heads=1),
     'needs more than one position per image'),
])
def test_forward_errors(s_shape, t_shape, kwargs, match):
    args = dict(patch_grid=(2, 2), num_heads=4, anchor_grid=(2, 2))
    args.update(kwargs)
    mod = TaTLoss(4, 8, **args)
    with pytest.raises(ValueError, match=match):
        mod(torch.randn(*s_shape), torch.randn(*t_shape))


def test_embedding_submodules():
    mod = TaTLoss(4, 8, embed_kernel_size=3)
    for seq, cin in ((mod.query_embed, 4), (mod.value_embed, 4),
                     (mod.key_embed, 8)):
        conv, bn = seq
        assert isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d)
        assert conv.in_channels == cin and conv.out_channels == 8
        assert conv.bias is None and bn.num_features == 8
    assert mod.query_embed[0].kernel_size == (3, 3)
    assert mod.query_embed[0].padding == (1, 1)
    assert mod.key_embed[0].kernel_size == (1, 1)
    assert isinstance(TaTLoss(4, 8, use_key_embed=False).key_embed,
                      nn.Identity)


def test_gradients_reach_student_and_embeddings_not_teacher():
    mod = make_module(5, 8, patch_grid=(2, 2), num_heads=4,
                      anchor_grid=(2, 2))
    s = torch.randn(2, 5, 8, 8, requires_grad=True)
    t = torch.randn(2, 8, 8, 8, requires_grad=True)
    mod(s, t).backward()
    assert t.grad is None
    assert s.grad is not None and s.grad.abs().sum() > 0
    for name, p in mod.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        # The key BN bias shifts every logit of a query row equally, which
        # the softmax ignores: its gradient is zero by construction.
        if name != 'key_embed.1.bias':
            assert p.grad.abs().sum() > 0, name


def _overflow_case(**options):
    """Inputs whose fp32 logits exceed the float16 range."""
    mod = make_module(16, 256, patch_grid=(2, 2), num_heads=4,
                      anchor_grid=(4, 4), **options)
    with torch.no_grad():
        # q, k ~ N(0, 40^2) per channel: dot products over 256 channels
        # reach ~1e5, beyond float16's 65504.
        mod.query_embed[1].weight.fill_(40.0)
        mod.key_embed[1].weight.fill_(40.0)
    g = torch.Generator().manual_seed(3)
    s = torch.randn(2, 16, 16, 16, generator=g)
    t = torch.randn(2, 256, 16, 16, generator=g)
    with torch.no_grad():
        q, k, _ = mod._embed(s, t)
        logits = torch.einsum('bcx,bcy->bxy', q.flatten(2), k.flatten(2))
    assert logits.abs().max() > torch.finfo(torch.float16).max
    return mod, s, t


@pytest.mark.parametrize('path', ['matmul', 'large'])
@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_autocast_is_finite_where_fp32_is(dtype, path):
    options = {}
    if path == 'large':  # chunked attention + recomputed embeddings
        options = dict(large_attention_positions=16,
                       chunk_elements=2 * 4 * 64 * 10)
    mod, s, t = _overflow_case(**options)
    want = mod(s, t)
    assert torch.isfinite(want)
    s = s.clone().requires_grad_()
    # CPU autocast supports both dtypes on every torch this package
    # declares; an error here is a dtype bug of the loss, not the build's.
    with torch.autocast('cpu', dtype=dtype):
        got = mod(s, t)
    assert got.dtype == torch.float32
    assert torch.isfinite(got)
    got.backward()
    assert torch.isfinite(s.grad).all()
    for p in mod.parameters():
        assert torch.isfinite(p.grad).all()
    # Low-precision embeddings only perturb the value slightly.
    assert math.isclose(got.item(), want.item(), rel_tol=0.1)


def test_registry_build():
    from mmengine.registry import DefaultScope
    from mmrazor.registry import MODELS

    # Runners of other tests may leave another default scope behind.
    with DefaultScope.overwrite_default_scope('mmrazor'):
        loss = MODELS.build(
            dict(type='TaTLoss', student_channels=4, teacher_channels=8,
                 patch_grid=(2, 2), num_heads=4, anchor_grid=(2, 2),
                 loss_weight=0.5))
    assert isinstance(loss, TaTLoss)
    assert loss.loss_weight == 0.5 and loss.patch_grid == (2, 2)
    out = loss(torch.randn(2, 4, 8, 8), torch.randn(2, 8, 8, 8))
    assert out.dim() == 0 and torch.isfinite(out)


@pytest.mark.parametrize('layout', ['channels_last', 'transposed_view'])
def test_memory_layouts_give_the_same_loss(layout):
    """Channels-last and non-contiguous inputs (token maps, views) give the
    contiguous result, with the same gradient."""
    mod = make_module(5, 8, patch_size=(2, 2), patches_per_group=2,
                      anchor_window=(2, 2))
    g = torch.Generator().manual_seed(0)
    s = torch.randn(2, 5, 8, 6, generator=g)
    t = torch.randn(2, 8, 8, 6, generator=g)
    s_ref = s.clone().requires_grad_()
    want = mod(s_ref, t)
    (want_grad, ) = torch.autograd.grad(want, [s_ref])
    s_leaf = s.clone().requires_grad_()
    if layout == 'channels_last':
        s_in = s_leaf.contiguous(memory_format=torch.channels_last)
        t_in = t.contiguous(memory_format=torch.channels_last)
    else:  # what TokensToMap hands over: (B, N, C) tokens seen as a map
        s_in = s_leaf.flatten(2).transpose(1, 2).transpose(1, 2).reshape(
            2, 5, 8, 6)
        t_tokens = t.flatten(2).transpose(1, 2).contiguous()
        t_in = t_tokens.transpose(1, 2).reshape(2, 8, 8, 6)
        assert not t_in.is_contiguous()
    got = mod(s_in, t_in)
    (got_grad, ) = torch.autograd.grad(got, [s_leaf])
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(got_grad, want_grad, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize('branch', ['patch', 'anchor'])
def test_reconfigured_student_is_what_the_loss_regresses(branch):
    """In eval mode (running statistics) the loss of one branch is the MSE
    between reconfigure()'s output and the (tiled / pooled) teacher map."""
    weights = dict(patch_weight=1.0, anchor_weight=0.0) if branch == \
        'patch' else dict(patch_weight=0.0, anchor_weight=1.0)
    mod = make_module(5, 8, patch_size=(3, 2), patches_per_group=2,
                      anchor_window=(2, 3), **weights).double().eval()
    g = torch.Generator().manual_seed(0)
    s = torch.randn(2, 5, 10, 9, generator=g, dtype=torch.float64)
    t = torch.randn(2, 8, 10, 9, generator=g, dtype=torch.float64)
    before = {k: v.clone() for k, v in mod.state_dict().items()}
    out = mod.reconfigure(s, t)
    geometry = out['geometry']
    if branch == 'patch':
        attn, result = out['patch_attention'], out['patch_output']
        assert attn.shape == (2, geometry.num_heads, 6, 6)
        target = t[:, :, :9, :8]
        assert 'anchor_attention' not in out
    else:
        attn, result = out['anchor_attention'], out['anchor_output']
        assert attn.shape == (2, 1, 15, 15)
        target = F.avg_pool2d(t, (2, 3))
        assert 'patch_attention' not in out
    torch.testing.assert_close(attn.sum(-1), torch.ones_like(attn[..., 0]))
    assert result.shape == target.shape
    torch.testing.assert_close(mod(s, t), F.mse_loss(result, target),
                               rtol=1e-9, atol=0)
    # nothing learnt or tracked changed
    for key, value in mod.state_dict().items():
        assert torch.equal(value, before[key]), key
