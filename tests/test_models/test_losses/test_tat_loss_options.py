"""The memory / speed options of TaTLoss: each keeps the loss exact, and
each is tested for what it is there for (the time it saves is measured by
``python .dev_scripts/benchmark_tat_loss.py``, not here); each is validated
when the loss is built."""
import copy

import pytest
import torch
from tat_cases import (
    REFERENCE_CASES,
    compare_with_reference,
    inputs,
    make_module,
    reference,
)

from mmtat.models import TaTLoss
from mmtat.models.ops import attention as attention_module
from mmtat.models.ops import (
    cpu_batch_norm_backward_is_wrong,
    floored_softmax_,
    tat_attention,
)


# ----------------------------------------------------------------------
# CPU steps
# ----------------------------------------------------------------------
@pytest.mark.parametrize('images_per_step', [1, 2])
@pytest.mark.parametrize('stats', ['per_image', 'batch'])
def test_cpu_steps_give_the_whole_batch_result(images_per_step, stats):
    # Force the CPU step path on small maps; B=3 leaves a ragged last step.
    b, c, h, w = 3, 8, 8, 10
    kwargs = dict(patch_grid=(2, 2), num_heads=4, anchor_grid=(4, 5),
                  norm_stats=stats,
                  cpu_step_bytes=images_per_step * c * h * w * 8)
    mod = make_module(5, c, **kwargs).double()
    probe = torch.zeros(b, c, h, w, dtype=torch.float64)
    coupled = stats == 'batch'  # in training: mod is
    assert mod.images_per_step(probe) == (
        b if coupled else images_per_step)
    # off the CPU the whole batch goes at once
    assert mod.images_per_step(probe.to('meta')) == b
    seqs = {n: copy.deepcopy(getattr(mod, n))
            for n in ('query_embed', 'key_embed', 'value_embed')}
    compare_with_reference(mod, b, h, w, torch.float64, rtol=1e-9,
                           atol=1e-12, image_spread=True)
    # Running statistics as after one call over the whole batch.
    s, _ = inputs(mod, b, h, w, image_spread=True)
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


# ----------------------------------------------------------------------
# large attention: never materialised, embeddings recomputed
# ----------------------------------------------------------------------
@pytest.mark.parametrize('impl', ['chunked', 'sdpa'])
@pytest.mark.parametrize('layout', ['global', 'patches_and_anchors'])
def test_large_attention_paths_match_reference(impl, layout, monkeypatch):
    # Force the large-attention path on small maps, with chunks of a few
    # query positions (several per call, the last one ragged).
    options = dict(large_attention_positions=4,
                   chunk_elements=7 * (80 if layout == 'global' else 20),
                   large_attention_kernel=impl)
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
    mod = make_module(4, 8, **kwargs, **options).to(dtype)
    rtol, atol = (1e-9, 1e-12) if dtype == torch.float64 else (2e-4, 1e-6)
    for b in (1, 2):
        compare_with_reference(mod, b, 8, 10, dtype, rtol=rtol, atol=atol)
    if impl == 'chunked':
        assert calls and all(chunk < length for length, chunk in calls)
        assert any(length % chunk for length, chunk in calls)
    else:
        assert not calls


def test_large_attention_on_the_cpu_is_the_chunked_kernel(monkeypatch):
    """Chosen, not forced: off CUDA the large path is the chunked kernel
    (and it says nothing: it is the plan, not a fallback)."""
    calls = []
    original = attention_module.ChunkedAttentionMSE

    class Recording:

        @staticmethod
        def apply(*args):
            calls.append(args[0].shape)
            return original.apply(*args)

    monkeypatch.setattr(attention_module, 'ChunkedAttentionMSE', Recording)
    mod = make_module(4, 8, patch_grid=(1, 1), num_heads=1,
                      anchor_weight=0.0, large_attention_positions=4).double()
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        compare_with_reference(mod, 2, 8, 10, torch.float64, rtol=1e-9,
                               atol=1e-12)
    assert calls


def test_recompute_updates_running_stats_once():
    kwargs = dict(patch_grid=(1, 1), num_heads=1, anchor_weight=0.0)
    plain = make_module(4, 8, **kwargs)
    large = make_module(4, 8, large_attention_positions=4, **kwargs)
    assert large.uses_large_attention(large.geometry(6, 6))
    assert not plain.uses_large_attention(plain.geometry(6, 6))
    s, t = torch.randn(3, 4, 6, 6), torch.randn(3, 8, 6, 6)
    plain(s, t).backward()
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


# ----------------------------------------------------------------------
# logit floor
# ----------------------------------------------------------------------
def _subnormal(x):
    tiny = torch.finfo(x.dtype).tiny
    return ((x > 0) & (x < tiny)).sum().item()


def test_logit_floor_keeps_softmax_weights_normal():
    """What the floor is for: unscaled logits spread over hundreds of units
    make most softmax weights subnormal floats (slow on x86); floored, none
    is, in both kernels, and the loss does not move at float64
    resolution."""
    # the condition: this process computes with subnormal floats (no
    # flush-to-zero), as torch does by default
    assert (torch.tensor([1e-30]) * 1e-10).item() > 0
    floor = TaTLoss(1, 1).logit_floor  # the default
    g = torch.Generator().manual_seed(0)
    q = torch.randn(1, 1, 64, 50, generator=g) * 3
    k = torch.randn(1, 1, 64, 50, generator=g) * 3
    v = torch.randn(1, 1, 8, 50, generator=g)
    logits = q.transpose(-1, -2) @ k
    assert _subnormal(torch.softmax(logits, -1)) > 0  # what it prevents
    attention, out = tat_attention(q, k, v, floor)
    assert _subnormal(attention) == 0
    assert _subnormal(floored_softmax_(logits.clone(), floor)) == 0
    # the result is the unfloored one at float64 resolution
    q64, k64, v64 = q.double(), k.double(), v.double()
    plain = v64 @ torch.softmax(q64.transpose(-1, -2) @ k64,
                                -1).transpose(-1, -2)
    _, floored = tat_attention(q64, k64, v64, floor)
    torch.testing.assert_close(floored, plain, rtol=1e-14, atol=1e-15)


# ----------------------------------------------------------------------
# contiguous gradient into the embeddings' BatchNorm
# (mmtat.models.ops.contiguous_grad: torch's CPU BatchNorm backward)
# ----------------------------------------------------------------------
def test_the_cpu_batch_norm_bug_is_present_on_the_torch_it_was_found_on():
    if torch.__version__.split('+')[0].startswith(('2.13.', '2.14.1')):
        assert cpu_batch_norm_backward_is_wrong()


def _one_image_gradient(mod, s, t):
    s = s.clone().requires_grad_()
    (grad, ) = torch.autograd.grad(mod(s, t), [s])
    return grad


@pytest.mark.parametrize('kernel', ['matmul', 'sdpa'])
def test_contiguous_embedding_grad_is_what_makes_one_image_right(kernel):
    """Global TaT on one image hands BatchNorm the gradient layout that
    torch's CPU backward gets wrong: with the guard the gradient is the
    reference's; without it, it is wrong exactly when this torch has the
    bug (the detector's verdict), and the same as with it otherwise."""
    b, cs, ct, h, w, kwargs = REFERENCE_CASES['global_single_image']
    if kernel == 'sdpa':
        kwargs = dict(kwargs, large_attention_positions=4,
                      large_attention_kernel='sdpa')
    mod = make_module(cs, ct, **kwargs).double()
    assert mod.contiguous_embedding_grad  # the default
    s, t = inputs(mod, b, h, w)
    s_ref = s.clone().requires_grad_()
    want, _ = reference(mod, s_ref, t)
    (want, ) = torch.autograd.grad(want, [s_ref])
    guarded = _one_image_gradient(mod, s, t)
    torch.testing.assert_close(guarded, want, rtol=1e-9, atol=1e-12)
    mod.contiguous_embedding_grad = False
    unguarded = _one_image_gradient(mod, s, t)
    wrong = not torch.allclose(unguarded, want, rtol=1e-9, atol=1e-12)
    if cpu_batch_norm_backward_is_wrong():
        assert wrong, (
            'this torch has the CPU BatchNorm backward bug, but the '
            'one-image gradient without the guard is right: the case no '
            'longer hands BatchNorm the layout that triggers it')
    else:
        torch.testing.assert_close(
            unguarded, guarded, rtol=1e-9, atol=1e-12,
            msg=lambda m: 'this torch has no CPU BatchNorm backward bug, '
            'so the guard must change nothing, but it does:\n' + m)
    assert wrong == cpu_batch_norm_backward_is_wrong()


# ----------------------------------------------------------------------
# validation when the loss is built
# ----------------------------------------------------------------------
def test_the_defaults():
    loss = TaTLoss(4, 8)
    assert (loss.large_attention_positions, loss.chunk_elements,
            loss.large_attention_kernel, loss.cpu_step_bytes,
            loss.logit_floor, loss.contiguous_embedding_grad) == (
                2048, 1 << 20, None, 8 << 20, 50.0, True)


@pytest.mark.parametrize('option,value,error,match', [
    ('large_attention_positions', 0, ValueError,
     'large_attention_positions must be positive, got 0'),
    ('large_attention_positions', 2048.0, TypeError,
     'large_attention_positions must be an int, got 2048.0'),
    ('chunk_elements', -1, ValueError,
     'chunk_elements must be positive, got -1'),
    ('large_attention_kernel', 'math', ValueError,
     r"large_attention_kernel must be one of \(None, 'sdpa', 'chunked'\), "
     r"got 'math'"),
    ('cpu_step_bytes', '8M', TypeError,
     "cpu_step_bytes must be an int, got '8M'"),
    ('logit_floor', 0, ValueError, 'logit_floor must be positive, got 0'),
    ('logit_floor', float('nan'), ValueError,
     'logit_floor must be positive, got nan'),
    ('logit_floor', '50', TypeError, "logit_floor must be a number, got '50'"),
    ('contiguous_embedding_grad', 1, TypeError,
     'contiguous_embedding_grad must be True or False, got 1'),
])
def test_a_wrong_option_fails_when_the_loss_is_built(option, value, error,
                                                     match):
    with pytest.raises(error, match=match):
        TaTLoss(4, 8, **{option: value})


def test_no_logit_floor_is_an_infinite_one():
    """The benchmark's ``tat_no_logit_floor`` row: every logit kept."""
    assert TaTLoss(4, 8, logit_floor=float('inf')).logit_floor == float('inf')
