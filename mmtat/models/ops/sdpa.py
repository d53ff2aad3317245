# Copyright (c) mmtat contributors. All rights reserved.
"""Large TaT attention with PyTorch's fused SDPA, never its math kernel.

``F.scaled_dot_product_attention`` picks a kernel at run time; when none of
its fused kernels (flash, memory-efficient, cuDNN) can run the inputs it
falls back, silently, to the math kernel, which materialises the ``L x L``
attention: 1 GiB per image and head for the 16641 positions of a 129x129
map in float32. The large-attention path exists to avoid exactly that, so
here the fused kernels are the only ones SDPA may use:

* :func:`choose_large_attention` decides, as a pure function of the device
  type, dtype, shape, the kernels switched on
  (``torch.backends.cuda.enable_*_sdp``) and the kernels torch reports able
  to run the inputs (``torch.backends.cuda.can_use_*_attention``), between
  SDPA restricted to the usable fused kernels and mmtat's chunked kernel
  (which never holds the attention either, on any device);
* :func:`plan_large_attention` collects those facts for real tensors and
  warns, with the memory the math kernel would have needed, whenever a fused
  kernel was wanted but none can run;
* :func:`sdpa_attention_mse` calls SDPA inside ``sdpa_kernel(<fused
  kernels>)``, so a kernel choice that torch still refuses raises instead of
  materialising, which is turned into the same warning and the chunked
  kernel.

Off CUDA the chunked kernel is the large-attention path: it is faster there
than SDPA's CPU kernels, whose unfloored softmax weights go subnormal (the
benchmark's ``tat_sdpa`` row measures it).
"""
import warnings
from typing import Dict, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    'FUSED_SDPA_BACKENDS', 'LargeAttentionPlan', 'choose_large_attention',
    'plan_large_attention', 'sdpa_attention_mse', 'attention_matrix_bytes'
]

#: SDPA's kernels that never materialise the attention, in torch's default
#: priority order, with the ``torch.backends.cuda`` switch of each.
FUSED_SDPA_BACKENDS: Dict[str, str] = {
    'FLASH_ATTENTION': 'flash_sdp_enabled',
    'EFFICIENT_ATTENTION': 'mem_efficient_sdp_enabled',
    'CUDNN_ATTENTION': 'cudnn_sdp_enabled',
}
_ELIGIBILITY = {
    'FLASH_ATTENTION': 'can_use_flash_attention',
    'EFFICIENT_ATTENTION': 'can_use_efficient_attention',
    'CUDNN_ATTENTION': 'can_use_cudnn_attention',
}
#: How torch says that the allowed kernels cannot run the inputs (CUDA,
#: then the CPU dispatcher's wording).
_NO_KERNEL = ('No available kernel', 'No viable backend')


class LargeAttentionPlan(NamedTuple):
    """How the large attention runs.

    Attributes:
        kernel: ``'sdpa'`` or ``'chunked'``.
        backends: the fused SDPA kernels SDPA may choose from (``'sdpa'``).
        fallback: why a fused kernel was wanted but cannot run, with the
            memory the math kernel would have needed; None when nothing was
            given up.
    """
    kernel: str
    backends: Tuple[str, ...]
    fallback: Optional[str]


def attention_matrix_bytes(dtype: torch.dtype, shape: Sequence[int]) -> int:
    """Bytes of the ``B x heads x L x L`` attention of ``(B, heads, L, d)``
    operands."""
    b, h, length = shape[0], shape[1], shape[2]
    itemsize = torch.empty((), dtype=dtype).element_size()
    return b * h * length * length * itemsize


def _fallback_message(reason: str, dtype: torch.dtype,
                      shape: Sequence[int]) -> str:
    b, h, length = shape[0], shape[1], shape[2]
    gib = attention_matrix_bytes(dtype, shape) / 2**30
    return (f'TaTLoss: {reason}. The attention over L = {length} positions '
            'runs in mmtat\'s chunked kernel instead, which never holds the '
            f'{b} x {h} x {length} x {length} attention ({gib:.2f} GiB in '
            f'{str(dtype).replace("torch.", "")}) that SDPA\'s math kernel '
            'would materialise; it is slower than a fused kernel.')


def choose_large_attention(
        device_type: str, dtype: torch.dtype, shape: Sequence[int],
        enabled: Dict[str, bool],
        eligible: Dict[str, Optional[bool]]) -> LargeAttentionPlan:
    """Choose the kernel of a large attention (a pure function).

    Args:
        device_type: ``'cuda'``, ``'cpu'``, ...
        dtype: the attention's dtype (float32 at least).
        shape: ``(B, heads, L, d)`` of the SDPA operands.
        enabled: fused kernel name -> switched on
            (``torch.backends.cuda.*_sdp_enabled()``).
        eligible: fused kernel name -> torch's verdict on these inputs
            (``torch.backends.cuda.can_use_*_attention``); None where it
            could not be asked (the restricted SDPA call still refuses).

    Returns:
        LargeAttentionPlan: SDPA restricted to the kernels that are on and
        eligible; else the chunked kernel, with the reason when on CUDA
        (elsewhere the chunked kernel is the plan, not a fallback).
    """
    if device_type != 'cuda':
        return LargeAttentionPlan('chunked', (), None)
    if dtype == torch.float64:
        reason = 'SDPA has no fused kernel for float64 inputs'
    else:
        switched_on = [n for n in FUSED_SDPA_BACKENDS if enabled.get(n)]
        usable = tuple(n for n in switched_on if eligible.get(n) is not False)
        if usable:
            return LargeAttentionPlan('sdpa', usable, None)
        if not switched_on:
            reason = ('every fused SDPA kernel is switched off '
                      '(torch.backends.cuda.enable_flash_sdp, '
                      'enable_mem_efficient_sdp, enable_cudnn_sdp)')
        else:
            reason = ('torch reports that none of the fused SDPA kernels '
                      f'switched on ({", ".join(switched_on)}) can run '
                      f'{tuple(shape)} {str(dtype).replace("torch.", "")} '
                      'operands')
    return LargeAttentionPlan('chunked', (),
                              _fallback_message(reason, dtype, shape))


def _sdpa_operands(q: Tensor, k: Tensor, v: Tensor) -> Tuple[Tensor, ...]:
    """``(B, heads, d, L)`` -> contiguous ``(B, heads, L, d)``: the fused
    kernels need a unit stride along ``d``."""
    return tuple(t.transpose(-1, -2).contiguous() for t in (q, k, v))


def _torch_eligibility(q: Tensor, k: Tensor,
                       v: Tensor) -> Dict[str, Optional[bool]]:
    from torch.backends import cuda
    try:
        params = cuda.SDPAParams(q, k, v, None, 0.0, False, False)
    except (AttributeError, TypeError):  # another torch's signature
        return {name: None for name in FUSED_SDPA_BACKENDS}
    return {
        name: _can_use(getattr(cuda, check), params)
        for name, check in _ELIGIBILITY.items()
    }


def _can_use(check, params) -> bool:
    try:
        return bool(check(params))
    except RuntimeError:
        # A check that needs CUDA itself (cuDNN's, on a CUDA build of
        # torch without a usable driver) raises instead of answering: the
        # kernel cannot run these inputs.
        return False


def plan_large_attention(
    q: Tensor, k: Tensor, v: Tensor
) -> Tuple[LargeAttentionPlan, Optional[Tuple[Tensor, ...]]]:
    """:func:`choose_large_attention` for ``(B, heads, d, L)`` tensors;
    warns when a fused kernel was wanted but none can run them.

    Returns:
        ``(plan, operands)``: on CUDA the contiguous ``(B, heads, L, d)``
        SDPA operands torch was asked about (for
        :func:`sdpa_attention_mse`, so they are built once), else None.
    """
    shape = (q.size(0), q.size(1), q.size(3), q.size(2))
    if q.device.type != 'cuda':
        plan = choose_large_attention(q.device.type, q.dtype, shape, {}, {})
        return plan, None
    enabled = {
        name: bool(getattr(torch.backends.cuda, switch)())
        for name, switch in FUSED_SDPA_BACKENDS.items()
    }
    operands = _sdpa_operands(q, k, v)
    plan = choose_large_attention(q.device.type, q.dtype, shape, enabled,
                                  _torch_eligibility(*operands))
    if plan.fallback:
        warnings.warn(plan.fallback, stacklevel=3)
    return plan, operands


def sdpa_attention_mse(
        q: Tensor,
        k: Tensor,
        v: Tensor,
        target: Tensor,
        backends: Optional[Sequence[str]],
        operands: Optional[Tuple[Tensor, ...]] = None) -> Optional[Tensor]:
    """``mean((attention(q, k) v - target) ** 2)`` with SDPA (scale 1).

    Args:
        q, k, v, target: ``(B, heads, d, L)``.
        backends: the SDPA kernels allowed (names of
            ``torch.nn.attention.SDPBackend``); None lets SDPA choose freely
            (a forced diagnostic run).
        operands: ``q``, ``k``, ``v`` as SDPA operands, when
            :func:`plan_large_attention` built them already.

    Returns:
        The loss, or None (after a warning) when SDPA refuses every allowed
        kernel: the caller then uses the chunked kernel.
    """
    qs, ks, vs = operands or _sdpa_operands(q, k, v)
    if backends is None:
        out = F.scaled_dot_product_attention(qs, ks, vs, scale=1.0)
    else:
        from torch.nn.attention import SDPBackend, sdpa_kernel
        try:
            with sdpa_kernel([getattr(SDPBackend, n) for n in backends]):
                out = F.scaled_dot_product_attention(qs, ks, vs, scale=1.0)
        except RuntimeError as err:
            if not any(text in str(err) for text in _NO_KERNEL):
                raise
            first_line = str(err).strip().splitlines()[0]
            warnings.warn(
                _fallback_message(
                    f'SDPA refused its fused kernels {", ".join(backends)} '
                    f'("{first_line}")', qs.dtype, qs.shape),
                stacklevel=3)
            return None
    return F.mse_loss(out, target.transpose(-1, -2))
