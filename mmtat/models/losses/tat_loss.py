# Copyright (c) mmtat contributors. All rights reserved.
"""Target-aware Transformer (TaT) distillation loss.

Behaviour follows the authors' segmentation release (``sihaoevery/TaT-seg``,
``distiller_tat.py`` at commit 8618e6d; facts read from it, no code taken):
the query/key/value embeddings are computed ONCE per image on the full maps,
the patch-group branch tiles those embeddings (:mod:`.tat_geometry`) and the
anchor branch average-pools the very same tensors; the loss is computed
image by image (each image normalised by its own BN statistics) and averaged
over the batch. The ImageNet-release variant (``embed_kernel_size=3``,
``use_key_embed=False``) follows the project's reference notes.

Where things are: the layout on a map in :mod:`.tat_geometry`, the memory
and speed measures in :mod:`.tat_policy`, the attention and BatchNorm
kernels in :mod:`mmtat.models.ops`; the float64 re-implementation of the
release the tests hold the loss against in :mod:`mmtat.testing`.
"""
from functools import partial
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmrazor.registry import MODELS
from torch import Tensor

from ..ops import embedding_batch_norm, tat_attention
from ..utils import as_non_negative, as_positive_int
from .tat_geometry import (
    TaTGeometry,
    TaTGeometrySpec,
    pool_anchors,
    stack_patches,
    tat_geometry,
    unstack_patches,
)
from .tat_policy import TaTExecutionPolicy

__all__ = ['TaTLoss', 'TaTGeometry']

_NORM_STATS = ('per_image', 'batch')
Pair = Union[int, Sequence[int]]


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

    * patch-group distillation: the maps are tiled with patches (as many as
      fit; rows/columns left over at the bottom/right are dropped), stacked
      patch-major along channels to ``(B, P * Ct, ph, pw)`` with ``P``
      patches in row-major order, split into equal groups of consecutive
      channels (heads), and attention runs inside each group over the
      ``ph * pw`` positions;
    * anchor-point distillation: ``q``, ``k``, ``v`` and ``F_t`` are
      average-pooled with window = stride and a single attention head runs
      over all pooled positions.

    ``loss = loss_weight * (patch_weight * L_patch +
    anchor_weight * L_anchor)``

    The geometry is given either as the release's grid counts, which are
    relative to the map (``patch_grid=(n, m)``: patches of ``(H // n,
    W // m)``; ``num_heads``; ``anchor_grid=(ah, aw)``: windows of
    ``(H // ah, W // aw)``), or in feature-map positions, which stay the same
    when the crop changes (``patch_size``, ``patches_per_group``: heads =
    patches / patches_per_group, ``anchor_window``). On the map it was
    written for, each form gives the same computation, e.g. the release's
    VOC setting on its 129x129 map is ``patch_grid=(16, 16), num_heads=64,
    anchor_grid=(32, 32)`` or ``patch_size=(8, 8), patches_per_group=4,
    anchor_window=(4, 4)``. Unset, the geometry is ``patch_grid=(8, 8),
    num_heads=16, anchor_grid=(16, 16)``. ``patch_grid=(1, 1), num_heads=1,
    anchor_weight=0`` is the plain global (one-to-all) TaT.

    Normalisation: the release runs the loss image by image, so in training
    each image is normalised by its own statistics. ``norm_stats='per_image'``
    reproduces that in one batched call and updates ``running_mean`` /
    ``running_var`` (unbiased) / ``num_batches_tracked`` exactly as ``B``
    sequential batch-of-one BatchNorm calls would. ``'batch'`` uses ordinary
    BatchNorm over the batch. In eval mode the running statistics are used
    either way.

    Distributed training (DDP): the embeddings' BN layers are plain
    ``nn.BatchNorm2d`` whatever the model's ``norm_cfg`` says. With
    ``'per_image'`` (the supported setting) nothing is communicated and
    nothing needs to be: the loss of an image does not depend on the other
    images, so DDP's averaged gradient equals the gradient of the
    whole-batch loss when every process has the same number of images.
    The running statistics (used in eval mode only) are updated from each
    process's own images and are not synchronised; a checkpoint holds rank
    0's. An mmengine ``sync_bn`` conversion turns the embeddings' BN into
    SyncBN too, which ``'per_image'`` ignores (it computes the statistics
    itself). With ``'batch'`` the statistics are those of one process's
    images, so the loss depends on the per-process batch size, unless the
    model is converted to SyncBN (``sync_bn='torch'``, CUDA only), which
    then gathers them from all processes. A loss (or both branches) with
    weight 0 returns a zero connected to every embedding parameter and to
    the student feature, so DDP with ``find_unused_parameters=False`` sees a
    (zero) gradient for each of them.

    How the loss is executed (memory and speed, none of it changing the
    result beyond float resolution) is :attr:`policy`, a
    :class:`~mmtat.models.losses.tat_policy.TaTExecutionPolicy`: float32 at
    least with autocast off, the ``L x L`` attention never materialised for
    large position counts, CPU batches in steps of a few images, floored
    logits.

    Args:
        student_channels (int): Channels ``Cs`` of the student feature.
        teacher_channels (int): Channels ``Ct`` of the teacher feature; the
            embeddings map into this width.
        patch_grid (int | tuple[int, int], optional): Nominal patch grid
            ``(n, m)``; patches are ``(H // n, W // m)`` positions. Excludes
            ``patch_size``.
        num_heads (int, optional): Number of equal channel groups of the
            stacked patch tensor; must divide ``P * Ct``. Excludes
            ``patches_per_group``.
        anchor_grid (int | tuple[int, int], optional): Nominal anchor grid
            ``(ah, aw)``; the pooling window is ``(H // ah, W // aw)``.
            Excludes ``anchor_window``.
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
        patch_size (int | tuple[int, int], optional): Patch size ``(ph,
            pw)`` in feature-map positions. Excludes ``patch_grid``.
        patches_per_group (int, optional): Whole patches per head; must
            divide the number of patches. Excludes ``num_heads``.
        anchor_window (int | tuple[int, int], optional): Pooling window
            ``(wh, ww)`` in feature-map positions. Excludes ``anchor_grid``.

    Shapes:
        - preds_S: :math:`(B, C_s, H_s, W_s)`, any memory layout
        - preds_T: :math:`(B, C_t, H, W)` (detached inside the loss)
        - output: scalar, float32 (float64 for float64 inputs)
    """

    #: The memory and speed measures (see TaTExecutionPolicy).
    policy = TaTExecutionPolicy()

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
                 anchor_window: Optional[Pair] = None) -> None:
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

        # batch statistics in training make an image's loss depend on the
        # others: such a batch is not split into steps
        images_coupled = self.norm_stats == 'batch' and self.training
        return self.loss_weight * self.policy.batch_mean(
            partial(self._tat_loss, geometry=geometry), preds_S, preds_T,
            images_coupled)

    def _tat_loss(self, preds_S: Tensor, preds_T: Tensor,
                  geometry: TaTGeometry) -> Tensor:
        """``patch_weight * L_patch + anchor_weight * L_anchor``: the
        embeddings once, then both branches' attention regressed onto the
        teacher feature laid out the same way."""
        q, k, v = self._embed(
            preds_S, preds_T,
            recompute=self.policy.uses_large_attention(geometry))
        loss = 0.0
        if self.patch_weight > 0:  # patch-group distillation
            loss = loss + self.patch_weight * self.policy.attention_mse(
                *(stack_patches(x, geometry) for x in (q, k, v, preds_T)))
        if self.anchor_weight > 0:  # anchor-point distillation
            loss = loss + self.anchor_weight * self.policy.attention_mse(
                *(pool_anchors(x, geometry) for x in (q, k, v, preds_T)))
        return loss

    def _embed(self,
               preds_S: Tensor,
               preds_T: Tensor,
               recompute: bool = False,
               update_stats: bool = True) -> Tuple[Tensor, Tensor, Tensor]:
        """``q = BN(Conv_q(F_s))``, ``k = BN(Conv_k(F_t))`` (or ``F_t``
        itself), ``v = BN(Conv_v(F_s))``, normalised as ``norm_stats``
        says."""
        per_image = self.norm_stats == 'per_image'

        def embed(module: nn.Module, x: Tensor) -> Tensor:
            if not isinstance(module, nn.Sequential):  # the identity key
                return module(x)
            conv, bn = module

            def run(inp: Tensor, update: bool) -> Tensor:
                return embedding_batch_norm(bn, conv(inp), per_image,
                                            update and update_stats)

            return self.policy.embedding(run, x, recompute)

        return (embed(self.query_embed, preds_S),
                embed(self.key_embed, preds_T),
                embed(self.value_embed, preds_S))

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
        floor = self.policy.logit_floor
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
