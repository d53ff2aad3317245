# Copyright (c) mmtat contributors. All rights reserved.
"""Tests of TaTLoss against an independent float64 reference.

The reference below is written from the formulas of the TaT notes, with
explicit Python loops over images, patches, heads and pooling windows, and
shares no code with the module: per-image (or batch) BatchNorm by hand,
patches cut by slicing in row-major order and concatenated patch-major along
channels, heads as consecutive channel chunks, attention softmax(q^T k) with
no scaling, MSE against the raw teacher feature.
"""
import copy
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import mmtat  # noqa: F401  (applies mmtat.compat before MMRazor loads)
from mmtat.models.losses.tat_loss import TaTLoss
from mmtat.models.ops import attention as attention_module

# ----------------------------------------------------------------------
# independent reference
# ----------------------------------------------------------------------


def ref_bn(y, weight, bias, eps, stats, running=None):
    """BatchNorm by hand: 'per_image', 'batch' or running statistics."""
    if running is not None:
        mean, var = running
        mean, var = mean.view(1, -1, 1, 1), var.view(1, -1, 1, 1)
    elif stats == 'per_image':
        outs = []
        for img in y:  # one image at a time, as the release does
            m = img.mean(dim=(1, 2), keepdim=True)
            v = ((img - m)**2).mean(dim=(1, 2), keepdim=True)
            outs.append((img - m) / torch.sqrt(v + eps))
        xhat = torch.stack(outs)
        return xhat * weight.view(1, -1, 1, 1) + bias.view(1, -1, 1, 1)
    else:
        mean = y.mean(dim=(0, 2, 3), keepdim=True)
        var = ((y - mean)**2).mean(dim=(0, 2, 3), keepdim=True)
    xhat = (y - mean) / torch.sqrt(var + eps)
    return xhat * weight.view(1, -1, 1, 1) + bias.view(1, -1, 1, 1)


def ref_embed(x, p, stats, running=None):
    if p is None:  # identity key
        return x
    k = p['conv'].shape[-1]
    y = F.conv2d(x, p['conv'], padding=k // 2)
    return ref_bn(y, p['bn_w'], p['bn_b'], p['eps'], stats, running)


def ref_head_sse(q, k, v, t):
    """Sum of squared errors of one head; inputs (d, L)."""
    attn = torch.softmax(q.t() @ k, dim=-1)  # (L, L), no 1/sqrt(d)
    out = v @ attn.t()  # out[:, i] = sum_j attn[i, j] v[:, j]
    return ((out - t)**2).sum()


def ref_patch_loss(q, k, v, t, grid, heads):
    b, c, h, w = t.shape
    ph, pw = h // grid[0], w // grid[1]
    nh, nw = h // ph, w // pw  # as many whole patches as fit
    sse, count = 0.0, 0
    for i in range(b):
        stacked = []
        for x in (q[i], k[i], v[i], t[i]):
            patches = [
                x[:, pi * ph:(pi + 1) * ph, pj * pw:(pj + 1) * pw]
                for pi in range(nh) for pj in range(nw)  # row-major
            ]
            stacked.append(torch.cat(patches, dim=0))  # (P*C, ph, pw)
        d = stacked[0].shape[0] // heads
        for g in range(heads):
            qs, ks, vs, ts = (s[g * d:(g + 1) * d].reshape(d, ph * pw)
                              for s in stacked)
            sse = sse + ref_head_sse(qs, ks, vs, ts)
            count += ts.numel()
    return sse / count


def ref_pool(x, window):
    c, h, w = x.shape
    wh, ww = window
    nh, nw = h // wh, w // ww
    out = torch.empty(c, nh, nw, dtype=x.dtype)
    cells = []
    for i in range(nh):
        for j in range(nw):
            cells.append(x[:, i * wh:(i + 1) * wh,
                           j * ww:(j + 1) * ww].mean(dim=(1, 2)))
    out = torch.stack(cells, dim=1)  # (C, nh*nw), row-major
    return out


def ref_anchor_loss(q, k, v, t, grid):
    b, c, h, w = t.shape
    window = (h // grid[0], w // grid[1])
    sse, count = 0.0, 0
    for i in range(b):
        qs, ks, vs, ts = (ref_pool(x[i], window) for x in (q, k, v, t))
        sse = sse + ref_head_sse(qs, ks, vs, ts)
        count += ts.numel()
    return sse / count


def ref_loss(s, t, params, cfg, stats='per_image', running=None):
    """The whole TaT loss from the formulas; ``params`` are leaves."""
    t = t.detach()
    if s.shape[2:] != t.shape[2:]:
        s = F.interpolate(s, size=t.shape[2:], mode='bilinear',
                          align_corners=False)
    run = running or {}
    q = ref_embed(s, params['q'], stats, run.get('q'))
    k = ref_embed(t, params['k'], stats, run.get('k'))
    v = ref_embed(s, params['v'], stats, run.get('v'))
    total = 0.0
    if cfg['patch_weight'] > 0:
        total = total + cfg['patch_weight'] * ref_patch_loss(
            q, k, v, t, cfg['patch_grid'], cfg['num_heads'])
    if cfg['anchor_weight'] > 0:
        total = total + cfg['anchor_weight'] * ref_anchor_loss(
            q, k, v, t, cfg['anchor_grid'])
    return cfg['loss_weight'] * total


def ref_params(mod, dtype=torch.float64):
    """Float64 leaf copies of the module's parameters."""

    def grab(seq):
        if isinstance(seq, nn.Identity):
            return None
        conv, bn = seq
        return dict(
            conv=conv.weight.detach().to(dtype).clone().requires_grad_(),
            bn_w=bn.weight.detach().to(dtype).clone().requires_grad_(),
            bn_b=bn.bias.detach().to(dtype).clone().requires_grad_(),
            eps=bn.eps)

    return dict(q=grab(mod.query_embed), k=grab(mod.key_embed),
                v=grab(mod.value_embed))


def param_list(mod):
    out = []
    for name in ('query_embed', 'key_embed', 'value_embed'):
        seq = getattr(mod, name)
        if isinstance(seq, nn.Sequential):
            out += [seq[0].weight, seq[1].weight, seq[1].bias]
    return out


def ref_param_list(p):
    out = []
    for name in ('q', 'k', 'v'):
        if p[name] is not None:
            out += [p[name]['conv'], p[name]['bn_w'], p[name]['bn_b']]
    return out


def make_module(cs, ct, seed=0, **kwargs):
    torch.manual_seed(seed)
    mod = TaTLoss(cs, ct, **kwargs)
    # Non-trivial affine parameters; moderate gains keep the attention away
    # from one-hot so that gradients through the softmax are exercised.
    with torch.no_grad():
        for seq in (mod.query_embed, mod.key_embed, mod.value_embed):
            if isinstance(seq, nn.Sequential):
                seq[1].weight.uniform_(0.2, 0.6)
                seq[1].bias.uniform_(-0.5, 0.5)
    return mod


def cfg_of(mod):
    return dict(patch_grid=mod.patch_grid, num_heads=mod.num_heads,
                anchor_grid=mod.anchor_grid, patch_weight=mod.patch_weight,
                anchor_weight=mod.anchor_weight, loss_weight=mod.loss_weight)


def assert_grads_close(got, want, rtol, atol):
    for g, w in zip(got, want):
        assert g is not None
        torch.testing.assert_close(g.double(), w.double(), rtol=rtol,
                                   atol=atol)


def compare_with_reference(mod, b, h, w, dtype, rtol, atol, hs=None,
                           ws=None, stats='per_image', seed=1,
                           image_spread=False):
    g = torch.Generator().manual_seed(seed)
    hs, ws = hs or h, ws or w
    s = torch.randn(b, mod.student_channels, hs, ws, generator=g,
                    dtype=torch.float64)
    if image_spread:  # images with different scales and offsets
        s = s * torch.arange(1, b + 1, dtype=s.dtype).view(-1, 1, 1, 1) + \
            torch.arange(b, dtype=s.dtype).view(-1, 1, 1, 1)
    t = torch.randn(b, mod.teacher_channels, h, w, generator=g,
                    dtype=torch.float64)
    p = ref_params(mod)
    s_ref = s.clone().requires_grad_()
    want = ref_loss(s_ref, t, p, cfg_of(mod), stats)
    want_grads = torch.autograd.grad(want, [s_ref] + ref_param_list(p))

    mod = mod.to(dtype)
    s_mod = s.to(dtype).requires_grad_()
    got = mod(s_mod, t.to(dtype))
    got_grads = torch.autograd.grad(got, [s_mod] + param_list(mod))
    torch.testing.assert_close(got.double(), want.double(), rtol=rtol,
                               atol=0)
    assert_grads_close(got_grads, want_grads, rtol, atol)
    return got


# (B, Cs, Ct, H, W, kwargs)
REFERENCE_CASES = {
    'basic': (2, 6, 8, 16, 16, dict(patch_grid=(4, 4), num_heads=4,
                                    anchor_grid=(4, 4))),
    # 35x29 with an 8x8 grid: 4x3 patches, 3 bottom rows and 2 right columns
    # dropped, and 29 // 3 = 9 patch columns (the release's unfold tiling).
    'cropped_35x29': (2, 5, 8, 35, 29, dict(patch_grid=(8, 8), num_heads=8,
                                            anchor_grid=(5, 6))),
    # Release VOC layout: 16x16 patches, 64 heads (4 patches per group).
    'voc_layout': (2, 3, 4, 32, 32, dict(patch_grid=(16, 16), num_heads=64,
                                         anchor_grid=(16, 16),
                                         anchor_weight=0.4,
                                         loss_weight=0.1)),
    # Release COCO-Stuff layout: 32x32 patches, 512 heads.
    'coco_layout': (2, 3, 2, 64, 64, dict(patch_grid=(32, 32), num_heads=512,
                                          anchor_grid=(32, 32),
                                          anchor_weight=1.0,
                                          loss_weight=0.6)),
    # Heads that split patches (d = 3 < Ct = 6), ImageNet-style embeddings.
    'split_patches_imagenet': (2, 4, 6, 12, 12, dict(
        patch_grid=(2, 2), num_heads=8, anchor_grid=(3, 3),
        embed_kernel_size=3, use_key_embed=False)),
    # Batch of one (exercises the gradient-layout guard before BN).
    'single_image': (1, 4, 8, 16, 12, dict(patch_grid=(2, 3), num_heads=2,
                                           anchor_grid=(4, 4))),
}


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
                           atol=1e-12, stats='batch', image_spread=True)
    compare_with_reference(per_image, 3, 16, 16, torch.float64, rtol=1e-9,
                           atol=1e-12, image_spread=True)
    # The two modes really normalise differently: per image, each image's
    # channel means equal the BN bias; over the batch they do not.
    s = torch.randn(3, 6, 16, 16, dtype=torch.float64)
    s = s * torch.tensor([1., 2., 3.], dtype=s.dtype).view(-1, 1, 1, 1) + \
        torch.tensor([0., 1., 2.], dtype=s.dtype).view(-1, 1, 1, 1)
    bias = per_image.query_embed[1].bias.detach().view(1, -1)
    for mod, same in ((per_image, True), (batch, False)):
        q = mod._embed(mod.query_embed, s, False).detach()
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


@pytest.mark.parametrize('images_per_step', [1, 2])
@pytest.mark.parametrize('stats', ['per_image', 'batch'])
def test_cpu_steps_give_the_whole_batch_result(images_per_step, stats,
                                               monkeypatch):
    # Force the CPU step path on small maps; B=3 leaves a ragged last step.
    b, c, h, w = 3, 8, 8, 10
    monkeypatch.setattr(TaTLoss, 'CPU_STEP_BYTES',
                        images_per_step * c * h * w * 8)
    kwargs = dict(patch_grid=(2, 2), num_heads=4, anchor_grid=(4, 5),
                  norm_stats=stats)
    mod = make_module(5, c, **kwargs).double()
    probe = torch.zeros(b, c, h, w, dtype=torch.float64)
    assert mod._images_per_step(probe) == (
        images_per_step if stats == 'per_image' else b)
    seqs = {n: copy.deepcopy(getattr(mod, n))
            for n in ('query_embed', 'key_embed', 'value_embed')}
    compare_with_reference(mod, b, h, w, torch.float64, rtol=1e-9,
                           atol=1e-12, stats=stats, image_spread=True)
    # Running statistics as after one call over the whole batch.
    g = torch.Generator().manual_seed(1)  # inputs of compare_with_reference
    s = torch.randn(b, 5, h, w, generator=g, dtype=torch.float64)
    s = s * torch.arange(1, b + 1, dtype=s.dtype).view(-1, 1, 1, 1) + \
        torch.arange(b, dtype=s.dtype).view(-1, 1, 1, 1)
    with torch.no_grad():
        if stats == 'per_image':
            for i in range(b):
                seqs['query_embed'](s[i:i + 1])
        else:
            seqs['query_embed'](s)
    want = seqs['query_embed'][1]
    got = mod.query_embed[1]
    torch.testing.assert_close(got.running_mean, want.running_mean)
    torch.testing.assert_close(got.running_var, want.running_var)
    assert int(got.num_batches_tracked) == int(want.num_batches_tracked)


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
    running = {}
    with torch.no_grad():
        for key, seq in (('q', mod.query_embed), ('k', mod.key_embed),
                         ('v', mod.value_embed)):
            seq[1].running_mean.uniform_(-1, 1)
            seq[1].running_var.uniform_(0.5, 2)
            running[key] = (seq[1].running_mean.clone(),
                            seq[1].running_var.clone())
    mod.eval()
    s = torch.randn(2, 5, 8, 8, dtype=torch.float64)
    t = torch.randn(2, 8, 8, 8, dtype=torch.float64)
    want = ref_loss(s, t, ref_params(mod), cfg_of(mod), running=running)
    torch.testing.assert_close(mod(s, t), want, rtol=1e-9, atol=0)
    # Nothing was updated.
    torch.testing.assert_close(mod.query_embed[1].running_mean,
                               running['q'][0])
    assert int(mod.query_embed[1].num_batches_tracked) == 0


def _fail(*args, **kwargs):
    raise AssertionError('a skipped branch was computed')


@pytest.mark.parametrize('zero', ['patch_weight', 'anchor_weight'])
def test_zero_weight_skips_branch(zero, monkeypatch):
    kwargs = dict(patch_grid=(2, 2), num_heads=4, anchor_grid=(2, 2))
    kwargs[zero] = 0.0
    mod = make_module(5, 8, **kwargs).double()
    skipped = ('_patch_group_loss'
               if zero == 'patch_weight' else '_anchor_loss')
    monkeypatch.setattr(mod, skipped, _fail)
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
    for name in ('_embed', '_patch_group_loss', '_anchor_loss'):
        monkeypatch.setattr(mod, name, _fail)
    if 'loss_weight' in weights:
        # loss_weight=0 still validates the grids.
        mod.patch_grid = mod.anchor_grid = (2, 2)
    loss = mod(torch.randn(2, 5, 4, 4), torch.randn(2, 8, 4, 4))
    assert loss.item() == 0.0 and loss.dtype == torch.float32


def test_global_mode_is_plain_one_to_all():
    mod = make_module(4, 8, patch_grid=(1, 1), num_heads=1,
                      anchor_weight=0.0).double()
    s = torch.randn(2, 4, 7, 9, dtype=torch.float64)
    t = torch.randn(2, 8, 7, 9, dtype=torch.float64)
    p = ref_params(mod)
    # Plain formula, written out once more without patches or heads.
    sse = 0.0
    for i in range(2):
        q = ref_embed(s, p['q'], 'per_image')[i].reshape(8, -1)
        k = ref_embed(t, p['k'], 'per_image')[i].reshape(8, -1)
        v = ref_embed(s, p['v'], 'per_image')[i].reshape(8, -1)
        attn = torch.softmax(q.t() @ k, dim=-1)
        sse = sse + ((v @ attn.t() - t[i].reshape(8, -1))**2).sum()
    want = sse / t.numel()
    torch.testing.assert_close(mod(s, t), want, rtol=1e-9, atol=0)


@pytest.mark.parametrize('impl', ['chunked', 'sdpa'])
@pytest.mark.parametrize('layout', ['global', 'patches_and_anchors'])
def test_large_attention_paths_match_reference(impl, layout, monkeypatch):
    # Force the large-attention path on small maps, with chunks of a few
    # query positions (several per call, the last one ragged).
    monkeypatch.setattr(TaTLoss, 'LARGE_ATTENTION_POSITIONS', 4)
    monkeypatch.setattr(TaTLoss, 'CHUNK_ELEMENTS',
                        7 * (80 if layout == 'global' else 20))
    monkeypatch.setattr(TaTLoss, '_large_attention_impl',
                        staticmethod(lambda device: impl))
    calls = []
    original = attention_module.ChunkedAttentionMSE

    class Recording:

        @staticmethod
        def apply(q, k, v, target, chunk, floor):
            calls.append((q.size(-1), chunk))
            return original.apply(q, k, v, target, chunk, floor)

    monkeypatch.setattr(attention_module, 'ChunkedAttentionMSE', Recording)
    if layout == 'global':
        kwargs = dict(patch_grid=(1, 1), num_heads=1, anchor_weight=0.0)
    else:
        kwargs = dict(patch_grid=(2, 2), num_heads=4, anchor_grid=(4, 5))
    dtype = torch.float64 if impl == 'chunked' else torch.float32
    mod = make_module(4, 8, **kwargs).to(dtype)
    rtol, atol = (1e-9, 1e-12) if dtype == torch.float64 else (2e-4, 1e-6)
    for b in (1, 2):
        compare_with_reference(mod, b, 8, 10, dtype, rtol=rtol, atol=atol)
    if impl == 'chunked':
        assert calls and all(chunk < length for length, chunk in calls)
        assert any(length % chunk for length, chunk in calls)
    else:
        assert not calls


def test_recompute_updates_running_stats_once(monkeypatch):
    kwargs = dict(patch_grid=(1, 1), num_heads=1, anchor_weight=0.0)
    plain = make_module(4, 8, **kwargs)
    large = make_module(4, 8, **kwargs)
    s, t = torch.randn(3, 4, 6, 6), torch.randn(3, 8, 6, 6)
    plain(s, t).backward()
    monkeypatch.setattr(TaTLoss, 'LARGE_ATTENTION_POSITIONS', 4)
    for stats in ('per_image', 'batch'):
        large.norm_stats = plain.norm_stats = stats
        large(s, t).backward()  # forward + recomputation in backward
        if stats == 'batch':
            plain(s, t).backward()
        for a, b in ((plain.query_embed[1], large.query_embed[1]),
                     (plain.key_embed[1], large.key_embed[1])):
            torch.testing.assert_close(a.running_mean, b.running_mean)
            torch.testing.assert_close(a.running_var, b.running_var)
            assert int(a.num_batches_tracked) == int(b.num_batches_tracked)


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


def _overflow_case():
    """Inputs whose fp32 logits exceed the float16 range."""
    mod = make_module(16, 256, patch_grid=(2, 2), num_heads=4,
                      anchor_grid=(4, 4))
    with torch.no_grad():
        # q, k ~ N(0, 40^2) per channel: dot products over 256 channels
        # reach ~1e5, beyond float16's 65504.
        mod.query_embed[1].weight.fill_(40.0)
        mod.key_embed[1].weight.fill_(40.0)
    g = torch.Generator().manual_seed(3)
    s = torch.randn(2, 16, 16, 16, generator=g)
    t = torch.randn(2, 256, 16, 16, generator=g)
    with torch.no_grad():
        q = mod._embed(mod.query_embed, s, False)
        k = mod._embed(mod.key_embed, t, False)
        logits = torch.einsum('bcx,bcy->bxy', q.flatten(2), k.flatten(2))
    assert logits.abs().max() > torch.finfo(torch.float16).max
    return mod, s, t


@pytest.mark.parametrize('path', ['matmul', 'large'])
@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_autocast_is_finite_where_fp32_is(dtype, path, monkeypatch):
    if path == 'large':  # chunked attention + recomputed embeddings
        monkeypatch.setattr(TaTLoss, 'LARGE_ATTENTION_POSITIONS', 16)
        monkeypatch.setattr(TaTLoss, 'CHUNK_ELEMENTS', 2 * 4 * 64 * 10)
    mod, s, t = _overflow_case()
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


# ----------------------------------------------------------------------
# geometry in feature-map positions
# ----------------------------------------------------------------------
@pytest.mark.parametrize('h,w,grid,heads,anchors,sizes', [
    # the release's VOC layout on its 129x129 map: grid 16 = 8x8 patches,
    # 64 heads = 4 patches per group, anchor grid 32 = 4x4 windows
    (129, 129, (16, 16), 64, (32, 32), ((8, 8), 4, (4, 4))),
    # its COCO-Stuff layout: grid 32 = 4x4 patches, 512 heads = 2 per group
    (129, 129, (32, 32), 512, (32, 32), ((4, 4), 2, (4, 4))),
    # a 64x64 map with the VOC geometry, and a ragged 35x29 one
    (64, 64, (8, 8), 16, (16, 16), ((8, 8), 4, (4, 4))),
    (35, 29, (8, 8), 9, (5, 6), ((4, 3), 8, (7, 4))),
])
def test_sizes_give_the_release_grid_layout(h, w, grid, heads, anchors,
                                            sizes):
    patch_size, per_group, window = sizes
    by_grid = TaTLoss(4, 8, patch_grid=grid, num_heads=heads,
                      anchor_grid=anchors)
    by_size = TaTLoss(4, 8, patch_size=patch_size,
                      patches_per_group=per_group, anchor_window=window)
    assert by_grid.geometry(h, w) == by_size.geometry(h, w)
    geometry = by_size.geometry(h, w)
    assert geometry.patch_size == patch_size
    nh, nw = geometry.patch_counts
    assert geometry.num_heads * per_group == nh * nw


@pytest.mark.parametrize('name', ['basic', 'cropped_35x29', 'voc_layout'])
def test_size_geometry_matches_reference(name):
    """The reference takes grid counts; the same layout written in sizes
    gives the same loss and gradients."""
    b, cs, ct, h, w, kwargs = REFERENCE_CASES[name]
    grid = make_module(cs, ct, **kwargs)
    geometry = grid.geometry(h, w)
    nh, nw = geometry.patch_counts
    sized = dict(
        patch_size=geometry.patch_size,
        patches_per_group=nh * nw // geometry.num_heads,
        anchor_window=geometry.anchor_window)
    for key in ('patch_weight', 'anchor_weight', 'loss_weight'):
        if key in kwargs:
            sized[key] = kwargs[key]
    mod = make_module(cs, ct, **sized).double()
    assert mod.geometry(h, w) == geometry
    g = torch.Generator().manual_seed(1)
    s = torch.randn(b, cs, h, w, generator=g, dtype=torch.float64)
    t = torch.randn(b, ct, h, w, generator=g, dtype=torch.float64)
    p = ref_params(mod)
    cfg = dict(cfg_of(mod), patch_grid=grid.patch_grid,
               num_heads=grid.num_heads, anchor_grid=grid.anchor_grid)
    s_ref = s.clone().requires_grad_()
    want = ref_loss(s_ref, t, p, cfg)
    s_mod = s.clone().requires_grad_()
    torch.testing.assert_close(mod(s_mod, t), want, rtol=1e-9, atol=0)
    got_grads = torch.autograd.grad(mod(s_mod, t), [s_mod])
    want_grads = torch.autograd.grad(want, [s_ref])
    assert_grads_close(got_grads, want_grads, 1e-9, 1e-12)


def test_sizes_keep_their_meaning_on_another_map():
    """Grid counts scale with the map, sizes in positions do not."""
    by_size = TaTLoss(4, 8, patch_size=(8, 8), patches_per_group=4,
                      anchor_window=(4, 4))
    by_grid = TaTLoss(4, 8, patch_grid=(8, 8), num_heads=16,
                      anchor_grid=(16, 16))
    assert by_size.geometry(64, 64) == by_grid.geometry(64, 64)
    small_size, small_grid = by_size.geometry(32, 48), by_grid.geometry(32,
                                                                        48)
    assert small_size.patch_size == (8, 8)
    assert small_size.num_heads == 4 * 6 // 4
    assert small_size.anchor_window == (4, 4)
    assert small_grid.patch_size == (4, 6)  # the grid shrank the patches


@pytest.mark.parametrize('kwargs,match', [
    (dict(patch_grid=(8, 8), patch_size=(8, 8)),
     'give patch_grid or patch_size, not both'),
    (dict(num_heads=4, patches_per_group=4),
     'give num_heads or patches_per_group, not both'),
    (dict(anchor_grid=4, anchor_window=4),
     'give anchor_grid or anchor_window, not both'),
    (dict(patch_size=(0, 4)), r'patch_size must be positive, got \(0, 4\)'),
    (dict(patches_per_group=-1), 'patches_per_group must be positive'),
    (dict(anchor_window=0), 'anchor_window must be positive'),
])
def test_size_constructor_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TaTLoss(4, 8, **kwargs)


@pytest.mark.parametrize('kwargs,match', [
    (dict(patch_size=(3, 3), patches_per_group=4),
     r'patches_per_group=4 must divide the number of patches P = 9 '
     r'\(patch_size=\(3, 3\) on a \(9, 10\) map gives 3x3 patches of 3x3\)'),
    (dict(patch_size=(10, 2)),
     r'patch_size=\(10, 2\) is larger than the feature map \(9, 10\)'),
    (dict(anchor_window=(2, 11)),
     r'anchor_window=\(2, 11\) is larger than the feature map \(9, 10\)'),
])
def test_size_geometry_errors(kwargs, match):
    args = dict(patch_size=(3, 2), anchor_window=(3, 3))
    args.update(kwargs)
    if 'patches_per_group' not in args:
        args['num_heads'] = 5
    mod = TaTLoss(4, 8, **args)
    with pytest.raises(ValueError, match=match):
        mod.geometry(9, 10)
    with pytest.raises(ValueError, match=match):
        mod(torch.randn(2, 4, 9, 10), torch.randn(2, 8, 9, 10))


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


# ----------------------------------------------------------------------
# reconfigure(): what the loss matches, for inspection
# ----------------------------------------------------------------------
def test_unstack_inverts_stack_on_the_tiled_region():
    mod = TaTLoss(4, 6, patch_size=(3, 2), patches_per_group=2,
                  anchor_weight=0)
    x = torch.randn(2, 6, 10, 9)  # 3x4 patches of 3x2: 1 row, 1 col left
    geometry = mod.geometry(10, 9)
    stacked = mod._stack_patches(x, geometry)
    assert stacked.shape == (2, 6, 2 * 6, 3 * 2)
    torch.testing.assert_close(
        mod._unstack_patches(stacked, geometry), x[:, :, :9, :8])


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
