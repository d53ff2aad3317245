# Copyright (c) mmtat contributors. All rights reserved.
"""Target-aware Transformer (TaT) distillation loss.

Behaviour follows the authors' segmentation release (``sihaoevery/TaT-seg``,
``distiller_tat.py`` at commit 8618e6d). The following details were read from
that file (facts only; no code was taken from it):

* The query/key/value embeddings are computed ONCE per image on the full
  feature map (``distillation_loss_all``); the patch-group branch then crops
  and splits those full-map embeddings, and the anchor branch average-pools
  the very same tensors.
* Patches are cut with ``unfold`` along H, then W, with kernel = stride =
  ``(H // n, W // m)`` and flattened as ``(n', m') -> n' * m'``, i.e. the patch
  index is row-major ``i * m' + j``. The stacked tensor is then permuted to
  ``(B, patches, C, kh, kw)`` and reshaped to ``(B, patches * C, kh, kw)``
  (patch-major, then channel), and heads take CONSECUTIVE chunks of that
  axis (``'b (h d) x y -> b h (x y) d'``).
* Because ``unfold`` tiles as many whole patches as fit, the number of patches
  along H is ``H // (H // n)``, which equals ``n`` unless ``H % n >= H // n``
  (e.g. W=29, m=8 -> 3-wide patches -> 9 columns). This module reproduces that
  tiling; the anchor branch (AvgPool2d with kernel = stride) behaves alike.
* The loss is computed per image (a loop over the batch calling the
  embeddings on a batch of one) and the per-image losses are summed and
  divided by the batch size in ``train_with_distillation_tat.py``; all images
  have the same size, so this is the mean over all elements.

These were read from the source, not checked by running the release. The
ImageNet-release variant (``embed_kernel_size=3``, ``use_key_embed=False``)
follows the project's reference notes; that code was not read.
"""
from contextlib import contextmanager
from typing import Iterator, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmrazor.registry import MODELS
from torch import Tensor
from torch.utils.checkpoint import checkpoint

_NORM_STATS = ('per_image', 'batch')
_SDPA_HAS_SCALE = tuple(
    int(p) for p in torch.__version__.split('+')[0].split('.')[:2]
    if p.isdigit()) >= (2, 1)


def _pair(value: Union[int, Sequence[int]], name: str) -> Tuple[int, int]:
    """Turn an int or a length-2 sequence of positive ints into a pair."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    if (not isinstance(value, (tuple, list)) or len(value) != 2 or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value)):
        raise TypeError(f'{name} must be an int or a pair of ints, '
                        f'got {value!r}')
    if value[0] <= 0 or value[1] <= 0:
        raise ValueError(f'{name} must be positive, got {tuple(value)}')
    return int(value[0]), int(value[1])


def _positive_int(value: int, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f'{name} must be an int, got {value!r}')
    if value <= 0:
        raise ValueError(f'{name} must be positive, got {value}')
    return value


class _ContiguousGrad(torch.autograd.Function):
    """Identity whose backward hands on a contiguous gradient.

    Works around a silent wrong-gradient bug of CPU ``batch_norm`` backward
    (seen with torch 2.13): for a contiguous input and a channels-last-like
    ``grad_output`` whose size-1 batch dimension has a non-canonical stride
    (exactly what the transposes of the attention produce for B == 1), the
    input gradient is wrong, with no error. Making the gradient contiguous
    before it reaches the BN costs one copy of a feature map.
    """

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:  # type: ignore[override]
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:  # type: ignore[override]
        return grad.contiguous()


def _non_negative(value: float, name: str) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f'{name} must be a number, got {value!r}')
    if not value >= 0:  # also rejects NaN
        raise ValueError(f'{name} must be non-negative, got {value}')
    return float(value)


@contextmanager
def _frozen_running_stats(
        bn: nn.modules.batchnorm._BatchNorm) -> Iterator[None]:
    """Run a training-mode BN call without touching its running stats."""
    momentum, tracked = bn.momentum, None
    if bn.num_batches_tracked is not None:
        tracked = bn.num_batches_tracked.clone()
    bn.momentum = 0.0  # running = 1 * running + 0 * batch
    try:
        yield
    finally:
        bn.momentum = momentum
        if tracked is not None:
            bn.num_batches_tracked.copy_(tracked)


def _floored_softmax_(logits: Tensor, floor: float) -> Tensor:
    """In-place softmax over the last dim after raising every logit to at
    least ``row max - floor``. For use outside autograd.

    Unscaled logits spread over hundreds of units, so most softmax weights
    (and their gradients) would otherwise be subnormal floats, which make
    x86 arithmetic an order of magnitude slower. With the floor every weight
    is at least ``exp(-floor) / L`` and the weight moved in total is below
    ``L * exp(-floor)`` (~1e-18 for floor 50 and L = 1e4): far under float32
    (and float64) resolution of the result. The autograd path applies the
    same floor with ``clamp``.
    """
    logits.sub_(logits.amax(dim=-1, keepdim=True)).clamp_(min=-floor)
    logits.exp_()
    return logits.div_(logits.sum(dim=-1, keepdim=True))


def _block(buffer: Tensor, n: int, c: int, length: int) -> Tensor:
    """A contiguous ``(n, c, length)`` view on the front of ``buffer``."""
    return buffer[:n * c * length].view(n, c, length)


class _ChunkedAttentionMSE(torch.autograd.Function):
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
            attn = _floored_softmax_(
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
            attn = _floored_softmax_(
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


@MODELS.register_module()
class TaTLoss(nn.Module):
    """Target-aware Transformer distillation loss (Lin et al., CVPR 2022).

    `Knowledge Distillation via the Target-aware Transformer
    <https://arxiv.org/abs/2205.10793>`_, as computed by the authors'
    segmentation release. With ``q = Norm(Embed_q(F_s))``,
    ``k = Norm(Embed_k(F_t))`` and ``v = Norm(Embed_v(F_s))`` (computed once
    on the full maps) the student is reconfigured as
    ``F_s'(i) = sum_j softmax_j(q_i . k_j) v_j`` (no ``1/sqrt(d)`` scaling)
    and regressed with a mean squared error onto the raw, detached teacher
    feature ``F_t``:

    * patch-group distillation: the maps are tiled with patches of size
      ``(H // n, W // m)`` (as many as fit; rows/columns left over at the
      bottom/right are dropped), stacked patch-major along channels to
      ``(B, P * Ct, kh, kw)`` with ``P`` patches in row-major order, split
      into ``num_heads`` equal groups of consecutive channels, and attention
      runs inside each group over the ``kh * kw`` positions;
    * anchor-point distillation: ``q``, ``k``, ``v`` and ``F_t`` are
      average-pooled with window = stride = ``(H // ah, W // aw)`` and a
      single attention head runs over all pooled positions.

    ``loss = loss_weight * (patch_weight * L_patch +
    anchor_weight * L_anchor)``

    ``patch_grid=(1, 1), num_heads=1, anchor_weight=0`` is the plain global
    (one-to-all) TaT.

    Normalisation: the release runs the loss image by image, so in training
    each image is normalised by its own statistics. ``norm_stats='per_image'``
    reproduces that in one batched call and updates ``running_mean`` /
    ``running_var`` (unbiased) / ``num_batches_tracked`` exactly as ``B``
    sequential batch-of-one BatchNorm calls would. ``'batch'`` uses ordinary
    BatchNorm over the batch. In eval mode the running statistics are used
    either way.

    Attention implementation (all in float32 at least, with autocast
    disabled, because unscaled dot products over hundreds of channels
    overflow float16):

    * fewer than ``LARGE_ATTENTION_POSITIONS`` positions per head (the patch
      branch, the anchor branch at the usual settings): batched matmul and
      softmax; the logits are read through transposed strides, so the only
      copies are the patch stacking;
    * from ``LARGE_ATTENTION_POSITIONS`` on (global TaT on a large map) the
      ``L x L`` attention is never materialised: on CUDA
      :func:`torch.nn.functional.scaled_dot_product_attention` with
      ``scale=1`` and contiguous 4-D ``(B, heads, L, d)`` operands (the
      layout its memory-efficient kernels need), elsewhere a query-chunked
      attention that recomputes in backward (on CPU it measured several
      times faster than SDPA and within the memory budget, see
      ``tools/analysis/benchmark_tat_loss.py``). The embeddings are then
      recomputed in backward as well (running statistics updated once).

    On CPU the batch is processed a few images at a time (as many as keep a
    teacher-sized map within ``CPU_STEP_BYTES``, 8 MiB), each step fully
    vectorised: larger tensors measured up to 1.4x slower there (cache, and
    glibc maps every >= 32 MiB block afresh, page faults included). Images
    are independent under per-image or running statistics, so the loss and
    the running-stat updates are those of the whole batch; with
    ``norm_stats='batch'`` in training the whole batch is one step.

    Logits more than ``LOGIT_FLOOR`` (50) below their row maximum are raised
    to that floor: otherwise most softmax weights are subnormal floats, which
    slow x86 arithmetic by an order of magnitude, while the effect on the
    loss is below float64 resolution (total weight moved < ``L * e^-50``).

    Args:
        student_channels (int): Channels ``Cs`` of the student feature.
        teacher_channels (int): Channels ``Ct`` of the teacher feature; the
            embeddings map into this width.
        patch_grid (int | tuple[int, int]): Nominal patch grid ``(n, m)``;
            patches are ``(H // n, W // m)`` pixels. Defaults to (8, 8).
        num_heads (int): Number of equal channel groups of the stacked
            patch tensor; must divide ``P * Ct``. Defaults to 16.
        anchor_grid (int | tuple[int, int]): Nominal anchor grid
            ``(ah, aw)``; the pooling window is ``(H // ah, W // aw)``.
            Defaults to (16, 16).
        patch_weight (float): Weight ``beta`` of the patch-group loss; 0
            skips that branch. Defaults to 1.0.
        anchor_weight (float): Weight ``gamma`` of the anchor loss; 0 skips
            that branch. Defaults to 0.4.
        loss_weight (float): Overall weight ``alpha``. Defaults to 1.0.
        embed_kernel_size (int): Odd kernel size of the query/value conv
            (1 in the segmentation release, 3 in the ImageNet release).
            Defaults to 1.
        use_key_embed (bool): Whether the key is ``BN(Conv1x1(F_t))``
            (segmentation release) or the teacher feature itself (ImageNet
            release). Defaults to True.
        norm_stats (str): ``'per_image'`` or ``'batch'``, see above.
            Defaults to ``'per_image'``.
        resize_student (bool): If the spatial sizes differ, resize the
            student feature to the teacher's size with bilinear interpolation
            (``align_corners=False``) before the embeddings; if False such
            inputs raise a ValueError. Defaults to True.

    Shapes:
        - preds_S: :math:`(B, C_s, H_s, W_s)`
        - preds_T: :math:`(B, C_t, H, W)` (detached inside the loss)
        - output: scalar, float32 (float64 for float64 inputs)
    """

    #: Positions per head from which the ``L x L`` attention is never
    #: materialised (a 2048 x 2048 float32 map is 16 MiB per image and head).
    LARGE_ATTENTION_POSITIONS = 2048
    #: Query-chunk budget of the chunked large-attention path, in elements
    #: of a ``(B * heads) x chunk x L`` block (4 MiB in float32).
    CHUNK_ELEMENTS = 1 << 20
    #: On CPU the batch is processed in steps of as many images as keep one
    #: teacher-sized float32 map within this many bytes (whole batch with
    #: ``norm_stats='batch'`` in training, whose statistics couple images).
    CPU_STEP_BYTES = 8 << 20
    #: Logits further than this below their row maximum are raised to it
    #: (see :func:`_floored_softmax_`).
    LOGIT_FLOOR = 50.0

    def __init__(self,
                 student_channels: int,
                 teacher_channels: int,
                 patch_grid: Union[int, Tuple[int, int]] = (8, 8),
                 num_heads: int = 16,
                 anchor_grid: Union[int, Tuple[int, int]] = (16, 16),
                 patch_weight: float = 1.0,
                 anchor_weight: float = 0.4,
                 loss_weight: float = 1.0,
                 embed_kernel_size: int = 1,
                 use_key_embed: bool = True,
                 norm_stats: str = 'per_image',
                 resize_student: bool = True) -> None:
        super().__init__()
        self.student_channels = _positive_int(student_channels,
                                              'student_channels')
        self.teacher_channels = _positive_int(teacher_channels,
                                              'teacher_channels')
        self.patch_grid = _pair(patch_grid, 'patch_grid')
        self.anchor_grid = _pair(anchor_grid, 'anchor_grid')
        self.num_heads = _positive_int(num_heads, 'num_heads')
        self.patch_weight = _non_negative(patch_weight, 'patch_weight')
        self.anchor_weight = _non_negative(anchor_weight, 'anchor_weight')
        self.loss_weight = _non_negative(loss_weight, 'loss_weight')
        kernel = _positive_int(embed_kernel_size, 'embed_kernel_size')
        if kernel % 2 == 0:
            # An even kernel with padding k // 2 would change the map size.
            raise ValueError('embed_kernel_size must be odd, got '
                             f'{embed_kernel_size}')
        if norm_stats not in _NORM_STATS:
            raise ValueError(f'norm_stats must be one of {_NORM_STATS}, '
                             f'got {norm_stats!r}')
        self.embed_kernel_size = kernel
        self.use_key_embed = bool(use_key_embed)
        self.norm_stats = norm_stats
        self.resize_student = bool(resize_student)

        cs, ct = self.student_channels, self.teacher_channels
        self.query_embed = nn.Sequential(
            nn.Conv2d(cs, ct, kernel, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(ct))
        self.value_embed = nn.Sequential(
            nn.Conv2d(cs, ct, kernel, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(ct))
        if self.use_key_embed:
            self.key_embed: nn.Module = nn.Sequential(
                nn.Conv2d(ct, ct, 1, bias=False), nn.BatchNorm2d(ct))
        else:
            self.key_embed = nn.Identity()

    # ------------------------------------------------------------------
    # input checks and geometry
    # ------------------------------------------------------------------
    def _check_inputs(self, preds_S: Tensor,
                      preds_T: Tensor) -> Tuple[Tensor, Tensor]:
        for name, x in (('preds_S', preds_S), ('preds_T', preds_T)):
            if not isinstance(x, Tensor) or x.dim() != 4:
                shape = tuple(x.shape) if isinstance(x, Tensor) else type(x)
                raise ValueError(f'{name} must be a 4-D (B, C, H, W) tensor, '
                                 f'got {shape}')
        if preds_S.size(0) != preds_T.size(0):
            raise ValueError('preds_S and preds_T must have the same batch '
                             f'size, got {preds_S.size(0)} and '
                             f'{preds_T.size(0)}')
        if preds_S.size(1) != self.student_channels:
            raise ValueError(f'preds_S has {preds_S.size(1)} channels but '
                             f'student_channels={self.student_channels}')
        if preds_T.size(1) != self.teacher_channels:
            raise ValueError(f'preds_T has {preds_T.size(1)} channels but '
                             f'teacher_channels={self.teacher_channels}')
        size_t = tuple(preds_T.shape[2:])
        if tuple(preds_S.shape[2:]) != size_t:
            if not self.resize_student:
                raise ValueError(
                    f'preds_S spatial size {tuple(preds_S.shape[2:])} differs '
                    f'from preds_T spatial size {size_t} and '
                    'resize_student=False')
            # The teacher map is the regression target, so the student is
            # brought to its resolution rather than the other way round.
            preds_S = F.interpolate(
                preds_S, size=size_t, mode='bilinear', align_corners=False)

        h, w = size_t
        # A branch with weight 0 never uses its grid.
        for name, (gh, gw), weight in (
                ('patch_grid', self.patch_grid, self.patch_weight),
                ('anchor_grid', self.anchor_grid, self.anchor_weight)):
            if weight > 0 and (gh > h or gw > w):
                raise ValueError(f'{name}={(gh, gw)} is larger than the '
                                 f'feature map {(h, w)}')
        if self.patch_weight > 0:
            (ph, pw), (nh, nw) = self._patch_geometry(h, w)
            stacked = nh * nw * self.teacher_channels
            if stacked % self.num_heads:
                raise ValueError(
                    f'num_heads={self.num_heads} must divide the stacked '
                    f'channels P*Ct = {nh}*{nw}*{self.teacher_channels} = '
                    f'{stacked} (patch_grid={self.patch_grid} on a {(h, w)} '
                    f'map gives {nh}x{nw} patches of {ph}x{pw})')
        if (self.norm_stats == 'per_image' and self.training and h * w < 2):
            raise ValueError('norm_stats="per_image" needs more than one '
                             f'position per image in training, got {(h, w)}')
        return preds_S, preds_T.detach()

    def _patch_geometry(self, h: int,
                        w: int) -> Tuple[Tuple[int, int], Tuple[int, int]]:
        """Patch size and how many whole patches fit (the release tiles with
        ``unfold(kernel=stride=H // n)``, which may fit more than ``n``)."""
        ph, pw = h // self.patch_grid[0], w // self.patch_grid[1]
        return (ph, pw), (h // ph, w // pw)

    def _anchor_window(self, h: int, w: int) -> Tuple[int, int]:
        return h // self.anchor_grid[0], w // self.anchor_grid[1]

    def _uses_large_attention(self, h: int, w: int) -> bool:
        if self.patch_weight > 0:
            (ph, pw), _ = self._patch_geometry(h, w)
            if ph * pw >= self.LARGE_ATTENTION_POSITIONS:
                return True
        if self.anchor_weight > 0:
            wh, ww = self._anchor_window(h, w)
            if (h // wh) * (w // ww) >= self.LARGE_ATTENTION_POSITIONS:
                return True
        return False

    @staticmethod
    def _large_attention_impl(device: torch.device) -> str:
        """``'sdpa'`` (fused memory-efficient kernel) on CUDA, otherwise
        ``'chunked'``: on CPU, SDPA measured ~6x slower than the chunked path
        (its unfloored softmax weights go subnormal). SDPA's ``scale``
        argument needs torch >= 2.1; older versions use the chunked path."""
        if device.type == 'cuda' and _SDPA_HAS_SCALE:
            return 'sdpa'
        return 'chunked'

    # ------------------------------------------------------------------
    # embeddings
    # ------------------------------------------------------------------
    def _embed(self, embed: nn.Module, x: Tensor, recompute: bool) -> Tensor:
        """Apply one embedding; with ``recompute`` its intermediate (the
        conv output kept for BN backward) is dropped after forward and
        recomputed in backward, which the large-attention path needs to stay
        within its memory budget."""
        if not isinstance(embed, nn.Sequential):
            return embed(x)
        if recompute and torch.is_grad_enabled():
            first_call = [True]

            def run(inp: Tensor) -> Tensor:
                # Running statistics are updated in forward only, not again
                # when backward recomputes.
                update, first_call[0] = first_call[0], False
                return self._embed_once(embed, inp, update)

            out = checkpoint(
                run, x, use_reentrant=False, preserve_rng_state=False)
        else:
            out = self._embed_once(embed, x, True)
        if out.requires_grad:
            out = _ContiguousGrad.apply(out)
        return out

    def _embed_once(self, embed: nn.Sequential, x: Tensor,
                    update_stats: bool) -> Tensor:
        conv, bn = embed[0], embed[1]
        y = conv(x)
        if not bn.training and bn.running_mean is not None:
            return bn(y)  # eval: running statistics either way
        if self.norm_stats == 'per_image':
            return self._per_image_bn(bn, y, update_stats)
        if update_stats:
            return bn(y)
        with _frozen_running_stats(bn):
            return bn(y)

    @staticmethod
    def _per_image_bn(bn: nn.modules.batchnorm._BatchNorm, y: Tensor,
                      update_stats: bool = True) -> Tensor:
        """BatchNorm with each image's own statistics, in one kernel call.

        Viewing ``(B, C, H, W)`` as ``(1, B * C, H, W)`` makes every
        (image, channel) pair a BN channel. Scratch running buffers with
        momentum 1 then receive exactly the per-image mean and unbiased
        variance, which feed the sequential running-stat update below
        without a second pass over the data.
        """
        b, c, h, w = y.shape
        track = (update_stats and bn.track_running_stats
                 and bn.running_mean is not None)
        stat_dtype = (bn.running_mean.dtype if bn.running_mean is not None
                      else torch.promote_types(y.dtype, torch.float32))
        means = torch.zeros(b * c, dtype=stat_dtype, device=y.device)
        vars_ = torch.ones(b * c, dtype=stat_dtype, device=y.device)
        weight = bn.weight.repeat(b) if bn.weight is not None else None
        bias = bn.bias.repeat(b) if bn.bias is not None else None
        out = F.batch_norm(
            y.contiguous().view(1, b * c, h, w), means, vars_, weight, bias,
            True, 1.0, bn.eps).view(b, c, h, w)
        if track:
            TaTLoss._update_running_stats(bn, means.view(b, c),
                                          vars_.view(b, c))
        return out

    @staticmethod
    @torch.no_grad()
    def _update_running_stats(bn: nn.modules.batchnorm._BatchNorm,
                              means: Tensor, vars_: Tensor) -> None:
        """Apply ``B`` batch-of-one BN running-stat updates in order."""
        b = means.size(0)
        if bn.momentum is None:
            # Cumulative moving average: the factor changes every image.
            for i in range(b):
                bn.num_batches_tracked.add_(1)
                f = 1.0 / float(bn.num_batches_tracked)
                bn.running_mean.mul_(1 - f).add_(means[i], alpha=f)
                bn.running_var.mul_(1 - f).add_(vars_[i], alpha=f)
            return
        # r_B = (1-m)^B r_0 + sum_i m (1-m)^(B-1-i) x_i, the closed form of B
        # sequential exponential updates (avoids B small kernel launches).
        m = float(bn.momentum)
        decay = (1.0 - m)**torch.arange(
            b - 1, -1, -1, dtype=torch.float64, device=means.device)
        coef = (m * decay).to(means.dtype).unsqueeze(1)
        keep = (1.0 - m)**b
        bn.running_mean.mul_(keep).add_((coef * means).sum(0))
        bn.running_var.mul_(keep).add_((coef * vars_).sum(0))
        bn.num_batches_tracked.add_(b)

    # ------------------------------------------------------------------
    # attention
    # ------------------------------------------------------------------
    def _attention_mse(self, q: Tensor, k: Tensor, v: Tensor,
                       target: Tensor) -> Tensor:
        """MSE between attention-reconfigured ``v`` and ``target``.

        All inputs are ``(B, heads, d, L)``: channels of a head, then its
        ``L`` positions. Keeping ``d`` before ``L`` lets the matmuls read the
        operands through transposed strides (no copies) and makes the output
        line up with ``target`` directly.
        """
        with torch.autocast(device_type=q.device.type, enabled=False):
            # float32 at least (float64 stays float64).
            dtype = torch.promote_types(q.dtype, torch.float32)
            q, k, v, target = (t.to(dtype) for t in (q, k, v, target))
            b, h, d, length = q.shape
            if length < self.LARGE_ATTENTION_POSITIONS:
                logits = torch.matmul(q.transpose(-1, -2), k)
                floor_at = logits.detach().amax(dim=-1, keepdim=True)
                logits = logits.clamp(min=floor_at - self.LOGIT_FLOOR)
                attn = logits.softmax(dim=-1)
                out = torch.matmul(v, attn.transpose(-1, -2))
                return F.mse_loss(out, target)
            if self._large_attention_impl(q.device) == 'sdpa':
                # The memory-efficient kernels need contiguous 4-D
                # (B, heads, L, d) operands; strided or 3-D ones fall back
                # to the math path, which materialises L x L.
                q, k, v = (t.transpose(-1, -2).contiguous() for t in (q, k, v))
                out = F.scaled_dot_product_attention(q, k, v, scale=1.0)
                return F.mse_loss(out, target.transpose(-1, -2))
            chunk = max(1, self.CHUNK_ELEMENTS // (b * h * length))
            return _ChunkedAttentionMSE.apply(
                q.reshape(b * h, d, length), k.reshape(b * h, d, length),
                v.reshape(b * h, d, length), target.reshape(b * h, d, length),
                chunk, self.LOGIT_FLOOR)

    def _patch_group_loss(self, q: Tensor, k: Tensor, v: Tensor,
                          f_t: Tensor) -> Tensor:
        (ph, pw), (nh, nw) = self._patch_geometry(*f_t.shape[2:])

        def stack(x: Tensor) -> Tensor:
            b, c = x.shape[:2]
            x = x[:, :, :nh * ph, :nw * pw].reshape(b, c, nh, ph, nw, pw)
            # (B, nh, nw, C, ph, pw): row-major patches, then channels, so
            # that consecutive channel chunks (heads) hold whole patches.
            x = x.permute(0, 2, 4, 1, 3, 5)
            return x.reshape(b, self.num_heads, -1, ph * pw)

        return self._attention_mse(stack(q), stack(k), stack(v), stack(f_t))

    def _anchor_loss(self, q: Tensor, k: Tensor, v: Tensor,
                     f_t: Tensor) -> Tensor:
        window = self._anchor_window(*f_t.shape[2:])

        def pool(x: Tensor) -> Tensor:
            x = F.avg_pool2d(x, window, window)
            return x.flatten(2).unsqueeze(1)  # (B, 1, C, L)

        return self._attention_mse(pool(q), pool(k), pool(v), pool(f_t))

    # ------------------------------------------------------------------
    def forward(self, preds_S: Tensor, preds_T: Tensor) -> Tensor:
        """Compute the weighted TaT loss.

        Args:
            preds_S (Tensor): Student feature, ``(B, Cs, Hs, Ws)``.
            preds_T (Tensor): Teacher feature, ``(B, Ct, H, W)``; no
                gradient flows into it.

        Returns:
            Tensor: Scalar loss (float32, or float64 for float64 inputs).
        """
        preds_S, preds_T = self._check_inputs(preds_S, preds_T)
        if self.loss_weight == 0 or (self.patch_weight == 0
                                     and self.anchor_weight == 0):
            dtype = torch.promote_types(preds_S.dtype, torch.float32)
            return preds_S.new_zeros((), dtype=dtype)
        batch = preds_T.size(0)
        step = self._images_per_step(preds_T)
        if step >= batch:
            return self.loss_weight * self._branch_losses(preds_S, preds_T)
        # Images are independent here (per-image or running statistics) and
        # all have the same size, so the mean over the batch is the
        # image-weighted mean of the steps' means. Running statistics are
        # updated step after step, i.e. still image after image.
        total = 0.0
        for start in range(0, batch, step):
            part = slice(start, start + step)
            n = preds_T[part].size(0)
            total = total + (n / batch) * self._branch_losses(
                preds_S[part], preds_T[part])
        return self.loss_weight * total

    def _images_per_step(self, preds_T: Tensor) -> int:
        """How many images to process at once (see ``CPU_STEP_BYTES``)."""
        coupled = self.norm_stats == 'batch' and self.training
        if preds_T.device.type != 'cpu' or coupled:
            return preds_T.size(0)
        per_image = preds_T[0].numel() * max(preds_T.element_size(), 4)
        return max(1, self.CPU_STEP_BYTES // per_image)

    def _branch_losses(self, preds_S: Tensor, preds_T: Tensor) -> Tensor:
        """``patch_weight * L_patch + anchor_weight * L_anchor``."""
        recompute = self._uses_large_attention(*preds_T.shape[2:])
        q = self._embed(self.query_embed, preds_S, recompute)
        k = self._embed(self.key_embed, preds_T, recompute)
        v = self._embed(self.value_embed, preds_S, recompute)
        total: Optional[Tensor] = None
        if self.patch_weight > 0:
            total = self.patch_weight * self._patch_group_loss(
                q, k, v, preds_T)
        if self.anchor_weight > 0:
            anchor = self.anchor_weight * self._anchor_loss(q, k, v, preds_T)
            total = anchor if total is None else total + anchor
        assert total is not None
        return total
