# Copyright (c) mmtat contributors. All rights reserved.
"""Attention kernels of the TaT loss: ``mean((v softmax(q^T k)^T - t)^2)``.

TaT's attention has no ``1/sqrt(d)`` scaling, runs over up to tens of
thousands of positions and is only ever consumed by a mean squared error, so
it gets its own kernels instead of a generic attention module:

* :func:`attention_mse` dispatches between a plain batched matmul (small
  position counts), PyTorch's fused SDPA (large counts on CUDA) and
  :class:`ChunkedAttentionMSE` (large counts elsewhere), always in float32 at
  least with autocast off (unscaled dot products over hundreds of channels
  overflow float16);
* logits more than ``logit_floor`` below their row maximum are raised to that
  floor (:func:`floored_softmax_`): otherwise most softmax weights are
  subnormal floats, which slow x86 arithmetic by an order of magnitude, while
  the weight moved is below float32 resolution of the result.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    'attention_mse', 'large_attention_impl', 'floored_softmax_',
    'ChunkedAttentionMSE'
]

_SDPA_HAS_SCALE = tuple(
    int(p) for p in torch.__version__.split('+')[0].split('.')[:2]
    if p.isdigit()) >= (2, 1)


def large_attention_impl(device: torch.device) -> str:
    """``'sdpa'`` (fused memory-efficient kernel) on CUDA, otherwise
    ``'chunked'``: on CPU, SDPA measured ~6x slower than the chunked path
    (its unfloored softmax weights go subnormal). SDPA's ``scale`` argument
    needs torch >= 2.1; older versions use the chunked path."""
    if device.type == 'cuda' and _SDPA_HAS_SCALE:
        return 'sdpa'
    return 'chunked'


def floored_softmax_(logits: Tensor, floor: float) -> Tensor:
    """In-place softmax over the last dim after raising every logit to at
    least ``row max - floor``. For use outside autograd.

    Unscaled logits spread over hundreds of units, so most softmax weights
    (and their gradients) would otherwise be subnormal floats. With the floor
    every weight is at least ``exp(-floor) / L`` and the weight moved in
    total is below ``L * exp(-floor)`` (~1e-18 for floor 50 and L = 1e4): far
    under float32 (and float64) resolution of the result. The autograd path
    of :func:`attention_mse` applies the same floor with ``clamp``.
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
    allocated once per call and reused (re-allocating them per chunk left
    the CPU heap fragmented: +20 MiB resident in a trial).
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
                  large_impl: Optional[str] = None) -> Tensor:
    """MSE between the attention-reconfigured ``v`` and ``target``.

    ``out[..., i] = sum_j softmax_j(q[..., i] . k[..., j]) v[..., j]`` (no
    scaling), then ``mean((out - target) ** 2)``.

    Args:
        q, k, v, target (Tensor): ``(B, heads, d, L)``: the channels of a
            head, then its ``L`` positions. Keeping ``d`` before ``L`` lets
            the matmuls read the operands through transposed strides (no
            copies) and makes the output line up with ``target`` directly.
        logit_floor (float): logits further than this below their row
            maximum are raised to it.
        large_positions (int): from this many positions on, the ``L x L``
            attention is never materialised.
        chunk_elements (int): element budget of one ``(B * heads) x chunk x
            L`` block of the chunked path.
        large_impl (str, optional): ``'sdpa'`` or ``'chunked'`` for large
            position counts; default :func:`large_attention_impl`.

    Returns:
        Tensor: scalar, float32 (float64 for float64 inputs).
    """
    with torch.autocast(device_type=q.device.type, enabled=False):
        # float32 at least (float64 stays float64).
        dtype = torch.promote_types(q.dtype, torch.float32)
        q, k, v, target = (t.to(dtype) for t in (q, k, v, target))
        b, h, d, length = q.shape
        if length < large_positions:
            logits = torch.matmul(q.transpose(-1, -2), k)
            floor_at = logits.detach().amax(dim=-1, keepdim=True)
            logits = logits.clamp(min=floor_at - logit_floor)
            attn = logits.softmax(dim=-1)
            out = torch.matmul(v, attn.transpose(-1, -2))
            return F.mse_loss(out, target)
        if large_impl is None:
            large_impl = large_attention_impl(q.device)
        if large_impl == 'sdpa':
            # The memory-efficient kernels need contiguous 4-D
            # (B, heads, L, d) operands; strided or 3-D ones fall back to
            # the math path, which materialises L x L.
            q, k, v = (t.transpose(-1, -2).contiguous() for t in (q, k, v))
            out = F.scaled_dot_product_attention(q, k, v, scale=1.0)
            return F.mse_loss(out, target.transpose(-1, -2))
        chunk = max(1, chunk_elements // (b * h * length))
        return ChunkedAttentionMSE.apply(
            q.reshape(b * h, d, length), k.reshape(b * h, d, length),
            v.reshape(b * h, d, length), target.reshape(b * h, d, length),
            chunk, logit_floor)
