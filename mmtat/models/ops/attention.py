# Copyright (c) mmtat contributors. All rights reserved.
"""TaT's attention: ``out_i = sum_j softmax_j(q_i . k_j) v_j``, no scaling.

:func:`tat_attention` is its one definition (the weights and the output,
with the ``L x L`` attention materialised); the loss and
:meth:`~mmtat.models.TaTLoss.reconfigure` both use it. The loss only ever
needs ``mean((out - target) ** 2)``, which :func:`attention_mse` computes:

* below ``large_positions`` positions per head with :func:`tat_attention`;
* from there on without ever holding the ``L x L`` attention: PyTorch's
  fused SDPA where one of its fused kernels can run the inputs (on CUDA,
  see :mod:`.sdpa`), otherwise :class:`ChunkedAttentionMSE`.

Always in float32 at least, autocast off: unscaled dot products over
hundreds of channels overflow float16. Logits further than ``logit_floor``
below their row maximum are raised to it (:func:`floored_softmax_`):
otherwise most softmax weights are subnormal floats, on which x86
arithmetic takes a slow path, while the weight moved is below the float32
and float64 resolution of the result (the benchmark's ``tat_no_logit_floor``
row measures the difference).
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .sdpa import plan_large_attention, sdpa_attention_mse

__all__ = [
    'tat_attention', 'attention_mse', 'floored_softmax_',
    'ChunkedAttentionMSE'
]


def _at_least_float32(*tensors: Tensor) -> Tuple[Tensor, ...]:
    dtype = torch.promote_types(tensors[0].dtype, torch.float32)
    return tuple(t.to(dtype) for t in tensors)


def tat_attention(q: Tensor, k: Tensor, v: Tensor,
                  logit_floor: float) -> Tuple[Tensor, Tensor]:
    """TaT's attention, materialised.

    Args:
        q, k, v (Tensor): ``(..., d, L)``: a head's ``d`` channels, then its
            ``L`` positions. ``d`` before ``L`` lets the matmuls read the
            operands through transposed strides (no copies) and lines the
            output up with a ``(..., d, L)`` target.
        logit_floor (float): logits further than this below their row
            maximum are raised to it.

    Returns:
        ``(attention (..., L, L), out (..., d, L))``: row ``i`` of the
        attention holds the weights with which position ``i`` gathers the
        values; float32 at least (float64 stays float64).
    """
    with torch.autocast(device_type=q.device.type, enabled=False):
        q, k, v = _at_least_float32(q, k, v)
        logits = torch.matmul(q.transpose(-1, -2), k)
        floor_at = logits.detach().amax(dim=-1, keepdim=True) - logit_floor
        attention = logits.clamp(min=floor_at).softmax(dim=-1)
        return attention, torch.matmul(v, attention.transpose(-1, -2))


def floored_softmax_(logits: Tensor, floor: float) -> Tensor:
    """In-place softmax over the last dim after raising every logit to at
    least ``row max - floor``. For use outside autograd.

    With the floor every weight is at least ``exp(-floor) / L`` (a normal
    float), and the weight moved in total is below ``L * exp(-floor)``
    (~1e-18 for floor 50 and L = 1e4): far under the float32 (and float64)
    resolution of the result. :func:`tat_attention` applies the same floor
    with ``clamp``.
    """
    logits.sub_(logits.amax(dim=-1, keepdim=True)).clamp_(min=-floor)
    logits.exp_()
    return logits.div_(logits.sum(dim=-1, keepdim=True))


def _block(buffer: Tensor, n: int, c: int, length: int) -> Tensor:
    """A contiguous ``(n, c, length)`` view on the front of ``buffer``."""
    return buffer[:n * c * length].view(n, c, length)


class ChunkedAttentionMSE(torch.autograd.Function):
    """``mean((v @ softmax(q^T k)^T - target) ** 2)`` for ``(N, d, L)``
    inputs without ever holding the ``L x L`` attention.

    Queries are processed in chunks of ``chunk`` positions; backward
    recomputes each chunk's attention. Only the inputs are saved, so the
    memory beyond them is the gradients plus two ``N x chunk x L`` blocks,
    allocated once per call and reused (allocating them per chunk fragments
    the CPU heap).
    """

    @staticmethod
    def forward(ctx, q: Tensor, k: Tensor, v: Tensor, target: Tensor,
                chunk: int, floor: float) -> Tensor:  # type: ignore[override]
        n, _, length = q.shape
        buffer = q.new_empty(n * min(chunk, length) * length)
        sse = q.new_zeros(())
        for start in range(0, length, chunk):
            q_c = q[..., start:start + chunk]
            logits = _block(buffer, n, q_c.size(-1), length)
            attn = floored_softmax_(
                torch.bmm(q_c.transpose(1, 2), k, out=logits), floor)
            out = torch.bmm(v, attn.transpose(1, 2))  # (N, d, c)
            sse += out.sub_(target[..., start:start + chunk]).square_().sum()
        ctx.save_for_backward(q, k, v, target)
        ctx.chunk, ctx.floor = chunk, floor
        return sse / q.numel()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        q, k, v, target = ctx.saved_tensors
        need_q, need_k, need_v = ctx.needs_input_grad[:3]
        n, _, length = q.shape
        scale = grad * (2.0 / q.numel())
        dq = torch.empty_like(q) if need_q else None
        dk = torch.zeros_like(k) if need_k else None
        dv = torch.zeros_like(v) if need_v else None
        size = n * min(ctx.chunk, length) * length
        attn_buf, grad_buf = q.new_empty(size), q.new_empty(size)
        for start in range(0, length, ctx.chunk):
            sl = slice(start, start + ctx.chunk)
            q_c = q[..., sl]
            c = q_c.size(-1)
            attn = floored_softmax_(
                torch.bmm(q_c.transpose(1, 2), k,
                          out=_block(attn_buf, n, c, length)), ctx.floor)
            out = torch.bmm(v, attn.transpose(1, 2))  # (N, d, c)
            g_out = (out - target[..., sl]).mul_(scale)
            if dv is not None:
                dv.baddbmm_(g_out, attn)
            if dq is None and dk is None:
                continue
            # Softmax backward: g_logits = attn * (g_attn - rowsum(g_attn *
            # attn)); the row sum equals sum_d g_out * out because
            # out = v attn^T, which avoids another pass over c x L.
            row = (g_out * out).sum(dim=1).unsqueeze(-1)  # (N, c, 1)
            g_logits = torch.bmm(g_out.transpose(1, 2), v,
                                 out=_block(grad_buf, n, c, length))
            # Floored logits get exp(-floor)-sized gradients here instead of
            # exactly 0: invisible at float32/float64 resolution.
            g_logits.sub_(row).mul_(attn)
            if dq is not None:
                dq[..., sl] = torch.bmm(k, g_logits.transpose(1, 2))
            if dk is not None:
                dk.baddbmm_(q_c, g_logits)
        return dq, dk, dv, None, None, None


def attention_mse(q: Tensor,
                  k: Tensor,
                  v: Tensor,
                  target: Tensor,
                  logit_floor: float,
                  large_positions: int,
                  chunk_elements: int,
                  large_kernel: Optional[str] = None) -> Tensor:
    """``mean((out - target) ** 2)`` with ``out`` of :func:`tat_attention`.

    Args:
        q, k, v, target (Tensor): ``(B, heads, d, L)``.
        logit_floor (float): see :func:`tat_attention`.
        large_positions (int): from this many positions on, the ``L x L``
            attention is never materialised.
        chunk_elements (int): element budget of one ``(B * heads) x chunk x
            L`` block of the chunked kernel.
        large_kernel (str, optional): ``'sdpa'`` or ``'chunked'`` to force a
            kernel for large position counts (diagnostics, tests); None
            chooses with :func:`~.sdpa.plan_large_attention`, which warns
            when a fused SDPA kernel was wanted but cannot run the inputs.

    Returns:
        Tensor: scalar, float32 (float64 for float64 inputs).
    """
    with torch.autocast(device_type=q.device.type, enabled=False):
        q, k, v, target = _at_least_float32(q, k, v, target)
        b, h, d, length = q.shape
        if length < large_positions:
            _, out = tat_attention(q, k, v, logit_floor)
            return F.mse_loss(out, target)
        backends = operands = None  # forced SDPA: whichever kernel it picks
        if large_kernel is None:
            plan, operands = plan_large_attention(q, k, v)
            large_kernel, backends = plan.kernel, plan.backends
        if large_kernel == 'sdpa':
            loss = sdpa_attention_mse(q, k, v, target, backends, operands)
            if loss is not None:
                return loss
        chunk = max(1, chunk_elements // (b * h * length))
        return ChunkedAttentionMSE.apply(
            q.reshape(b * h, d, length), k.reshape(b * h, d, length),
            v.reshape(b * h, d, length), target.reshape(b * h, d, length),
            chunk, logit_floor)
