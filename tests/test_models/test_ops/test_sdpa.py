"""mmtat.models.ops.sdpa: the large TaT attention never falls back, without
notice, to SDPA's math kernel (which materialises L x L). The choice is a
pure function, tested here for CUDA without a GPU; the restricted call and
its fallback run on the CPU."""
import re
import warnings

import pytest
import torch
import torch.nn.functional as F

from mmtat.models.ops import (
    FUSED_SDPA_BACKENDS,
    attention_matrix_bytes,
    attention_mse,
    choose_large_attention,
    plan_large_attention,
    sdpa_attention_mse,
    tat_attention,
)
from mmtat.models.ops import attention as attention_module
from mmtat.models.ops import sdpa as sdpa_module

ALL_ON = {name: True for name in FUSED_SDPA_BACKENDS}
GLOBAL_129 = (1, 1, 129 * 129, 256)  # the release's decoder map, one head


def test_off_cuda_the_chunked_kernel_is_the_plan_not_a_fallback():
    plan = choose_large_attention('cpu', torch.float32, GLOBAL_129, ALL_ON,
                                  {})
    assert plan == ('chunked', (), None)


def test_cuda_float32_uses_only_fused_kernels_that_are_on_and_eligible():
    eligible = dict(FLASH_ATTENTION=False, EFFICIENT_ATTENTION=True,
                    CUDNN_ATTENTION=False)
    plan = choose_large_attention('cuda', torch.float32, GLOBAL_129, ALL_ON,
                                  eligible)
    assert plan == ('sdpa', ('EFFICIENT_ATTENTION', ), None)
    # a kernel switched off is not used even where torch could run it
    plan = choose_large_attention(
        'cuda', torch.float32, GLOBAL_129,
        dict(ALL_ON, FLASH_ATTENTION=False),
        {name: True for name in FUSED_SDPA_BACKENDS})
    assert plan.backends == ('EFFICIENT_ATTENTION', 'CUDNN_ATTENTION')
    assert 'MATH' not in plan.backends
    # torch's verdict unknown: allowed, the restricted call still refuses
    plan = choose_large_attention('cuda', torch.float32, GLOBAL_129,
                                  dict(EFFICIENT_ATTENTION=True), {})
    assert plan == ('sdpa', ('EFFICIENT_ATTENTION', ), None)


@pytest.mark.parametrize('dtype,enabled,eligible,reason', [
    (torch.float64, ALL_ON, {n: True for n in FUSED_SDPA_BACKENDS},
     'SDPA has no fused kernel for float64 inputs'),
    (torch.float32, {n: False for n in FUSED_SDPA_BACKENDS}, {},
     'every fused SDPA kernel is switched off'),
    (torch.float32, dict(EFFICIENT_ATTENTION=True),
     dict(EFFICIENT_ATTENTION=False),
     'torch reports that none of the fused SDPA kernels switched on '
     r'\(EFFICIENT_ATTENTION\) can run \(1, 1, 16641, 256\) float32'),
])
def test_no_usable_fused_kernel_means_the_chunked_kernel_and_why(
        dtype, enabled, eligible, reason):
    plan = choose_large_attention('cuda', dtype, GLOBAL_129, enabled,
                                  eligible)
    assert plan.kernel == 'chunked' and plan.backends == ()
    itemsize = 8 if dtype == torch.float64 else 4
    gib = 16641 * 16641 * itemsize / 2**30
    assert attention_matrix_bytes(dtype, GLOBAL_129) == 16641**2 * itemsize
    assert re.search(reason, plan.fallback), plan.fallback
    assert '1 x 1 x 16641 x 16641 attention' in plan.fallback
    assert f'({gib:.2f} GiB in {str(dtype)[6:]})' in plan.fallback
    assert "mmtat's chunked kernel" in plan.fallback


def _operands(length=12, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(2, 1, d, length, generator=g) for _ in range(4)]


def test_plan_of_cpu_tensors_is_silent():
    q, k, v, _ = _operands()
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        plan, operands = plan_large_attention(q, k, v)
    assert plan.kernel == 'chunked' and operands is None


def test_torch_is_asked_with_its_own_eligibility_checks():
    q, k, v, _ = _operands()
    verdict = sdpa_module._torch_eligibility(
        *sdpa_module._sdpa_operands(q, k, v))
    assert set(verdict) == set(FUSED_SDPA_BACKENDS)
    # a CPU tensor is eligible for none of the CUDA kernels, and torch says
    # so rather than failing to be asked
    assert verdict == {name: False for name in FUSED_SDPA_BACKENDS}


def test_a_refused_fused_kernel_warns_and_gives_the_chunked_result(
        monkeypatch):
    """SDPA restricted to fused kernels that cannot run the inputs (here:
    CUDA's memory-efficient kernel for CPU tensors) refuses instead of
    materialising; the loss warns and computes the same value chunked."""
    q, k, v, t = _operands()
    with pytest.warns(UserWarning, match='SDPA refused its fused kernels '
                      'EFFICIENT_ATTENTION'):
        assert sdpa_attention_mse(q, k, v, t,
                                  ('EFFICIENT_ATTENTION', )) is None
    monkeypatch.setattr(
        attention_module, 'plan_large_attention',
        lambda q, k, v: (sdpa_module.LargeAttentionPlan(
            'sdpa', ('EFFICIENT_ATTENTION', ), None), None))
    with pytest.warns(UserWarning, match="chunked kernel instead"):
        got = attention_mse(q, k, v, t, 50.0, 4, 64)
    _, out = tat_attention(q, k, v, 50.0)
    torch.testing.assert_close(got, F.mse_loss(out, t))


def test_other_sdpa_errors_are_not_taken_for_a_refusal(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError('CUDA error: an illegal memory access')

    monkeypatch.setattr(sdpa_module.F, 'scaled_dot_product_attention',
                        broken)
    q, k, v, t = _operands()
    with pytest.raises(RuntimeError, match='illegal memory access'):
        sdpa_attention_mse(q, k, v, t, ('EFFICIENT_ATTENTION', ))


def test_a_usable_plan_runs_sdpa_within_the_allowed_kernels(monkeypatch):
    """The fused call happens inside sdpa_kernel(<the plan's kernels>): the
    math kernel is not among the backends torch may pick."""
    seen = []
    real = F.scaled_dot_product_attention

    def recording(*args, **kwargs):
        backends = torch.backends.cuda
        seen.append(dict(math=backends.math_sdp_enabled(),
                         flash=backends.flash_sdp_enabled(),
                         efficient=backends.mem_efficient_sdp_enabled(),
                         cudnn=backends.cudnn_sdp_enabled()))
        return real(*args, **kwargs)

    monkeypatch.setattr(sdpa_module.F, 'scaled_dot_product_attention',
                        recording)
    q, k, v, t = _operands()
    with pytest.warns(UserWarning):  # CPU tensors: refused, then chunked
        sdpa_attention_mse(q, k, v, t, ('EFFICIENT_ATTENTION', ))
    assert seen == [dict(math=False, flash=False, efficient=True,
                         cudnn=False)]
    assert torch.backends.cuda.math_sdp_enabled()  # restored afterwards
