# Copyright (c) mmtat contributors. All rights reserved.
"""Target-aware Transformer (TaT) distillation loss.

Behaviour follows the authors' segmentation release (``sihaoevery/TaT-seg``,
``distiller_tat.py`` at commit 8618e6d; facts read from it, no code taken).
The layout on a map is :mod:`.tat_geometry`, the attention and BatchNorm
kernels are :mod:`mmtat.models.ops`, the float64 re-implementation of the
release that the tests hold the loss against is the tests'
``release_reference.py``, and
``docs/en/method.md`` describes what the loss computes and how it runs.
"""
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmrazor.registry import MODELS
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from ..ops import (
    ContiguousGrad,
    attention_mse,
    conv_batch_norm,
    tat_attention,
    update_running_stats_sequentially,
)
from ..utils import as_non_negative, as_positive_int
from .tat_geometry import (
    TaTGeometry,
    TaTGeometrySpec,
    pool_anchors,
    stack_patches,
    tat_geometry,
    unstack_patches,
)

__all__ = ['TaTLoss', 'TaTGeometry']

_NORM_STATS = ('per_image', 'batch')
_LARGE_ATTENTION_KERNELS = (None, 'sdpa', 'chunked')
Pair = Union[int, Sequence[int]]


@MODELS.register_module()
class TaTLoss(nn.Module):
    r"""`Knowledge Distillation via the Target-aware Transformer
    <https://arxiv.org/abs/2205.10793>`_ (TaT, CVPR 2022), as the authors'
    segmentation release computes it.

    .. math::

        q = BN(Conv_q(F_s)),\ k = BN(Conv_k(F_t)),\ v = BN(Conv_v(F_s)),
        \quad F_s'(i) = \sum_j softmax_j(q_i \cdot k_j)\, v_j

    The embeddings are computed once on the full maps, without a
    :math:`1/\sqrt{d}` scaling. :math:`F_s'` is regressed (mean squared
    error) onto the raw, detached :math:`F_t` in two branches: patch-group
    (whole patches stacked patch-major along the channels and split into
    ``heads`` groups; attention within a group over a patch's positions)
    and anchor-point (``q``, ``k``, ``v``, :math:`F_t` average-pooled; one
    head over all anchors). Each image is normalised by its own statistics
    and the loss is the mean over the images:
    :math:`L = \alpha (\beta L_{patch} + \gamma L_{anchor})`.

    Args:
        student_channels (int): Channels ``Cs`` of the student feature.
        teacher_channels (int): Channels ``Ct`` of the teacher feature.
        patch_grid (int | tuple[int, int], optional): Release's patch grid
            ``(n, m)``: patches of ``(H // n, W // m)``. Defaults to (8, 8).
        num_heads (int, optional): Groups of the stacked patches; must
            divide ``P * Ct``. Defaults to 16.
        anchor_grid (int | tuple[int, int], optional): Release's anchor
            grid ``(ah, aw)``. Defaults to (16, 16).
        patch_weight (float): ``beta``; 0 skips the branch. Defaults to 1.0.
        anchor_weight (float): ``gamma``; 0 skips the branch. Defaults to
            0.4.
        loss_weight (float): ``alpha``. Defaults to 1.0.
        embed_kernel_size (int): Odd kernel of the query/value convs (3 in
            the ImageNet release). Defaults to 1.
        use_key_embed (bool): False: the key is ``F_t`` itself (ImageNet
            release). Defaults to True.
        norm_stats (str): ``'per_image'`` (the release) or ``'batch'``.
            Defaults to ``'per_image'``.
        resize_student (bool): Resize a student map of another size to the
            teacher's (bilinear), else raise. Defaults to True.
        patch_size (int | tuple[int, int], optional): Patch size in
            positions, instead of ``patch_grid``.
        patches_per_group (int, optional): Whole patches per head, instead
            of ``num_heads``.
        anchor_window (int | tuple[int, int], optional): Anchor window in
            positions, instead of ``anchor_grid``.
        large_attention_positions (int): From this many positions per head
            the ``L x L`` attention is never held and the embeddings are
            recomputed in backward. Defaults to 2048.
        chunk_elements (int): Elements of one block of the query-chunked
            attention. Defaults to 1 << 20.
        large_attention_kernel (str, optional): ``'sdpa'`` or ``'chunked'``
            forces the large-attention kernel. Defaults to None (chosen).
        cpu_step_bytes (int): On the CPU, images per step: as many as keep a
            float32 teacher map within this. Defaults to 8 << 20.
        logit_floor (float): Logits are raised to at least their row
            maximum minus this. Defaults to 50.0.
        contiguous_embedding_grad (bool): Hand the embeddings' BatchNorm a
            contiguous gradient (a torch CPU bug). Defaults to True.

    Shapes:
        - preds_S: :math:`(B, C_s, H_s, W_s)`
        - preds_T: :math:`(B, C_t, H, W)`
        - output: scalar, float32 (float64 for float64 inputs)
    """

    def __init__(self,
                 student_channels: int,
                 teacher_channels: int,
                 patch_grid: Optional[Pair] = None,
                 num_heads: Optional[int] = None,
                 anchor_grid: Optional[Pair] = None,
                 patch_weight: float = 1.0,
                 anchor_weight: float = 0.4,
                 loss_weight: float = 1.0,
                 embed_kernel_size: int = 1,
                 use_key_embed: bool = True,
                 norm_stats: str = 'per_image',
                 resize_student: bool = True,
                 patch_size: Optional[Pair] = None,
                 patches_per_group: Optional[int] = None,
                 anchor_window: Optional[Pair] = None,
                 large_attention_positions: int = 2048,
                 chunk_elements: int = 1 << 20,
                 large_attention_kernel: Optional[str] = None,
                 cpu_step_bytes: int = 8 << 20,
                 logit_floor: float = 50.0,
                 contiguous_embedding_grad: bool = True) -> None:
        super().__init__()
        self.student_channels = as_positive_int(student_channels,
                                                'student_channels')
        self.teacher_channels = as_positive_int(teacher_channels,
                                                'teacher_channels')
        spec = TaTGeometrySpec.from_args(patch_grid, num_heads, anchor_grid,
                                         patch_size, patches_per_group,
                                         anchor_window)
        (self.patch_grid, self.patch_size, self.num_heads,
         self.patches_per_group, self.anchor_grid, self.anchor_window) = spec
        self.patch_weight = as_non_negative(patch_weight, 'patch_weight')
        self.anchor_weight = as_non_negative(anchor_weight, 'anchor_weight')
        self.loss_weight = as_non_negative(loss_weight, 'loss_weight')
        kernel = as_positive_int(embed_kernel_size, 'embed_kernel_size')
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

        self.large_attention_positions = as_positive_int(
            large_attention_positions, 'large_attention_positions')
        self.chunk_elements = as_positive_int(chunk_elements,
                                              'chunk_elements')
        if large_attention_kernel not in _LARGE_ATTENTION_KERNELS:
            raise ValueError('large_attention_kernel must be one of '
                             f'{_LARGE_ATTENTION_KERNELS}, got '
                             f'{large_attention_kernel!r}')
        self.large_attention_kernel = large_attention_kernel
        self.cpu_step_bytes = as_positive_int(cpu_step_bytes,
                                              'cpu_step_bytes')
        if not isinstance(logit_floor, (int, float)) or isinstance(
                logit_floor, bool):
            raise TypeError(f'logit_floor must be a number, got '
                            f'{logit_floor!r}')
        if not logit_floor > 0:  # 0 would make every softmax uniform
            raise ValueError(f'logit_floor must be positive, got '
                             f'{logit_floor}')
        self.logit_floor = float(logit_floor)
        if not isinstance(contiguous_embedding_grad, bool):
            raise TypeError('contiguous_embedding_grad must be True or '
                            f'False, got {contiguous_embedding_grad!r}')
        self.contiguous_embedding_grad = contiguous_embedding_grad

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

    def extra_repr(self) -> str:
        parts = [f'{self.student_channels} -> {self.teacher_channels}']
        for name in ('patch_grid', 'patch_size', 'num_heads',
                     'patches_per_group', 'anchor_grid', 'anchor_window'):
            value = getattr(self, name)
            if value is not None:
                parts.append(f'{name}={value}')
        parts.append(f'loss_weight={self.loss_weight}, patch_weight='
                     f'{self.patch_weight}, anchor_weight='
                     f'{self.anchor_weight}')
        return ', '.join(parts)

    def geometry(self, height: int, width: int) -> TaTGeometry:
        """The layout on a teacher map of ``(height, width)`` positions
        (:func:`~mmtat.models.losses.tat_geometry.tat_geometry`).

        Raises:
            ValueError: if a branch with a positive weight does not fit the
                map (patches or anchor windows larger than the map, heads
                that do not divide the stacked patches).
        """
        spec = TaTGeometrySpec(self.patch_grid, self.patch_size,
                               self.num_heads, self.patches_per_group,
                               self.anchor_grid, self.anchor_window)
        return tat_geometry(spec, self.teacher_channels, height, width,
                            patches=self.patch_weight > 0,
                            anchors=self.anchor_weight > 0)

    def uses_large_attention(self, geometry: TaTGeometry) -> bool:
        """Whether a branch of ``geometry`` attends over at least
        ``large_attention_positions`` positions."""
        return any(
            size is not None
            and size[0] * size[1] >= self.large_attention_positions
            for size in (geometry.patch_size, geometry.anchor_counts))

    def images_per_step(self, preds_T: Tensor) -> int:
        """How many images go through the loss at once: on the CPU as many
        as keep one float32 teacher map within ``cpu_step_bytes``, else the
        whole batch."""
        # batch statistics in training make an image's loss depend on the
        # others: such a batch is not split
        coupled = self.norm_stats == 'batch' and self.training
        if preds_T.device.type != 'cpu' or coupled:
            return preds_T.size(0)
        image_bytes = preds_T[0].numel() * max(preds_T.element_size(), 4)
        return max(1, self.cpu_step_bytes // image_bytes)

    # ------------------------------------------------------------------
    # the method
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
        preds_S, preds_T, geometry = self._check_inputs(preds_S, preds_T)
        if self.loss_weight == 0 or (self.patch_weight == 0
                                     and self.anchor_weight == 0):
            return self._connected_zero(preds_S)
        recompute = self.uses_large_attention(geometry)

        # Images are independent (per-image or running statistics), so the
        # batch goes in steps; a step's loss is the mean over its images
        # and weighs by its share of the batch. Running statistics are
        # updated step after step, i.e. still image after image.
        batch = preds_T.size(0)
        step = self.images_per_step(preds_T)
        loss = 0.0
        for start in range(0, batch, step):
            if step >= batch:  # a slice would copy the gradient in backward
                f_s, f_t = preds_S, preds_T
            else:
                f_s = preds_S[start:start + step]
                f_t = preds_T[start:start + step]
            q, k, v = self._embed(f_s, f_t, recompute)

            step_loss = 0.0
            if self.patch_weight > 0:  # patch-group distillation
                step_loss = step_loss + self.patch_weight * self._mse(
                    *(stack_patches(x, geometry) for x in (q, k, v, f_t)))
            if self.anchor_weight > 0:  # anchor-point distillation
                step_loss = step_loss + self.anchor_weight * self._mse(
                    *(pool_anchors(x, geometry) for x in (q, k, v, f_t)))
            loss = loss + f_t.size(0) / batch * step_loss
        return self.loss_weight * loss

    def _embed(self,
               preds_S: Tensor,
               preds_T: Tensor,
               recompute: bool = False,
               update_stats: bool = True) -> Tuple[Tensor, Tensor, Tensor]:
        """``q = BN(Conv_q(F_s))``, ``k = BN(Conv_k(F_t))`` (or ``F_t``
        itself), ``v = BN(Conv_v(F_s))``, normalised as ``norm_stats``
        says; the running statistics receive the images once if
        ``update_stats``.

        With ``recompute`` the conv outputs (what BatchNorm's backward
        needs) are not kept but recomputed in backward. The recomputed
        function never updates running statistics (it returns them), so
        the update below is the only one.
        """
        per_image = self.norm_stats == 'per_image'
        recompute = recompute and torch.is_grad_enabled()
        embeddings = []
        for embed, x in ((self.query_embed, preds_S),
                         (self.key_embed, preds_T),
                         (self.value_embed, preds_S)):
            if not isinstance(embed, nn.Sequential):  # the teacher map
                embeddings.append(embed(x))
                continue
            conv, bn = embed
            if recompute:
                out, stats = checkpoint(
                    conv_batch_norm, conv, bn, x, per_image,
                    use_reentrant=False, preserve_rng_state=False)
            else:
                out, stats = conv_batch_norm(conv, bn, x, per_image)
            if update_stats and stats is not None:
                update_running_stats_sequentially(bn, *stats)
            if self.contiguous_embedding_grad and out.requires_grad:
                out = ContiguousGrad.apply(out)
            embeddings.append(out)
        q, k, v = embeddings
        return q, k, v

    def _mse(self, q: Tensor, k: Tensor, v: Tensor, target: Tensor) -> Tensor:
        """``mean((attention(q, k) v - target) ** 2)`` over ``(B, heads, d,
        L)`` inputs (:func:`~mmtat.models.ops.attention_mse`)."""
        return attention_mse(q, k, v, target, self.logit_floor,
                             self.large_attention_positions,
                             self.chunk_elements, self.large_attention_kernel)

    def _connected_zero(self, preds_S: Tensor) -> Tensor:
        """A zero loss with a (zero) gradient for the student feature and
        every parameter: a weight-0 pair must not leave parameters unused
        under DDP with ``find_unused_parameters=False``."""
        zero = preds_S.sum() * 0.0
        for param in self.parameters():
            zero = zero + param.sum().to(zero.dtype) * 0.0
        return zero.to(torch.promote_types(preds_S.dtype, torch.float32))

    @torch.no_grad()
    def reconfigure(self, preds_S: Tensor, preds_T: Tensor) -> dict:
        """What the loss matches, for inspection (no gradients, no update
        of running statistics), with the loss's own attention
        (:func:`~mmtat.models.ops.tat_attention`).

        Args:
            preds_S (Tensor): ``(B, Cs, Hs, Ws)``.
            preds_T (Tensor): ``(B, Ct, H, W)``.

        Returns:
            dict: ``geometry`` (:class:`TaTGeometry`); for the patch branch
            (if its weight is positive) ``patch_attention`` ``(B, heads,
            L, L)`` over the ``L = ph * pw`` positions of a patch (row: the
            reconfigured position, column: the student position it gathers
            from, the same in every patch of the head's group) and
            ``patch_output``, the reconfigured student ``(B, Ct, nh * ph,
            nw * pw)``; for the anchor branch ``anchor_attention`` ``(B, 1,
            A, A)`` over the ``A = ah * aw`` anchors and ``anchor_output``
            ``(B, Ct, ah, aw)``. The full attention is materialised: meant
            for single images and moderate maps.
        """
        preds_S, preds_T, geometry = self._check_inputs(preds_S, preds_T)
        q, k, v = self._embed(preds_S, preds_T, update_stats=False)
        floor = self.logit_floor
        out: dict = dict(geometry=geometry)
        if self.patch_weight > 0:
            attention, result = tat_attention(
                *(stack_patches(x, geometry) for x in (q, k, v)), floor)
            out.update(patch_attention=attention,
                       patch_output=unstack_patches(result, geometry))
        if self.anchor_weight > 0:
            attention, result = tat_attention(
                *(pool_anchors(x, geometry) for x in (q, k, v)), floor)
            ah, aw = geometry.anchor_counts
            out.update(anchor_attention=attention,
                       anchor_output=result.reshape(result.size(0), -1, ah,
                                                    aw))
        return out

    # ------------------------------------------------------------------
    # input checks
    # ------------------------------------------------------------------
    def _check_inputs(self, preds_S: Tensor,
                      preds_T: Tensor) -> Tuple[Tensor, Tensor, TaTGeometry]:
        """Validate the features, bring the student to the teacher's size
        (the teacher map is the regression target) and lay out the map."""
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
            preds_S = F.interpolate(
                preds_S, size=size_t, mode='bilinear', align_corners=False)
        h, w = size_t
        geometry = self.geometry(h, w)
        if self.norm_stats == 'per_image' and self.training and h * w < 2:
            raise ValueError('norm_stats="per_image" needs more than one '
                             f'position per image in training, got {(h, w)}')
        return preds_S, preds_T.detach(), geometry

