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

The numerical kernels (attention, per-image BatchNorm) are in
:mod:`mmtat.models.ops`.
"""
from typing import NamedTuple, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmrazor.registry import MODELS
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from ..ops import (
    ContiguousGrad,
    attention_mse,
    frozen_running_stats,
    large_attention_impl,
    per_image_batch_norm,
)
from ..utils import as_non_negative, as_pair, as_positive_int

_NORM_STATS = ('per_image', 'batch')
Pair = Union[int, Sequence[int]]


def _one_of(grid_name: str, grid, size_name: str, size, convert,
            default_grid):
    """Resolve a geometry given as release grid counts or as sizes."""
    if grid is not None and size is not None:
        raise ValueError(f'give {grid_name} or {size_name}, not both '
                         f'(got {grid_name}={grid!r}, {size_name}={size!r})')
    if size is not None:
        return None, convert(size, size_name)
    return convert(default_grid if grid is None else grid, grid_name), None


class TaTGeometry(NamedTuple):
    """TaT's layout on one ``(H, W)`` feature map (None: branch unused).

    Attributes:
        patch_size: ``(ph, pw)`` pixels of a patch.
        patch_counts: ``(nh, nw)`` whole patches that fit (row-major).
        num_heads: groups the stacked patches are split into.
        anchor_window: ``(wh, ww)`` average-pooling window = stride.
        anchor_counts: ``(ah, aw)`` anchors (pooled positions).
    """
    patch_size: Optional[Tuple[int, int]]
    patch_counts: Optional[Tuple[int, int]]
    num_heads: Optional[int]
    anchor_window: Optional[Tuple[int, int]]
    anchor_counts: Optional[Tuple[int, int]]


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
    num_heads=16, anchor_grid=(16, 16)``.

    ``patch_grid=(1, 1), num_heads=1, anchor_weight=0`` is the plain global
    (one-to-all) TaT.

    Normalisation: the release runs the loss image by image, so in training
    each image is normalised by its own statistics. ``norm_stats='per_image'``
    reproduces that in one batched call and updates ``running_mean`` /
    ``running_var`` (unbiased) / ``num_batches_tracked`` exactly as ``B``
    sequential batch-of-one BatchNorm calls would. ``'batch'`` uses ordinary
    BatchNorm over the batch. In eval mode the running statistics are used
    either way.

    Attention (:func:`mmtat.models.ops.attention_mse`): float32 at least,
    autocast off; below ``LARGE_ATTENTION_POSITIONS`` positions per head a
    batched matmul, from there on the ``L x L`` attention is never
    materialised (SDPA on CUDA, a query-chunked kernel elsewhere) and the
    embeddings are recomputed in backward (running statistics updated once).
    Logits more than ``LOGIT_FLOOR`` below their row maximum are raised to
    it (subnormal softmax weights slow x86 arithmetic ~10x; the effect on
    the loss is below float64 resolution).

    On CPU the batch is processed a few images at a time (as many as keep a
    teacher-sized map within ``CPU_STEP_BYTES``), each step fully
    vectorised: larger tensors measured up to 1.4x slower there. Images are
    independent under per-image or running statistics, so the loss and the
    running-stat updates are those of the whole batch.

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
    #: (see :func:`mmtat.models.ops.floored_softmax_`).
    LOGIT_FLOOR = 50.0

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
        self.patch_grid, self.patch_size = _one_of(
            'patch_grid', patch_grid, 'patch_size', patch_size, as_pair,
            (8, 8))
        self.num_heads, self.patches_per_group = _one_of(
            'num_heads', num_heads, 'patches_per_group', patches_per_group,
            as_positive_int, 16)
        self.anchor_grid, self.anchor_window = _one_of(
            'anchor_grid', anchor_grid, 'anchor_window', anchor_window,
            as_pair, (16, 16))
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

    # ------------------------------------------------------------------
    # geometry
    # ------------------------------------------------------------------
    def geometry(self, height: int, width: int) -> TaTGeometry:
        """The layout on a teacher map of ``(height, width)`` positions.

        Raises:
            ValueError: if a branch with a positive weight does not fit the
                map (patches or anchor windows larger than the map, heads
                that do not divide the stacked patches).
        """
        h, w = height, width
        patch_size = patch_counts = heads = None
        window = anchor_counts = None
        if self.patch_weight > 0:
            name, given, (ph, pw) = self._window(
                'patch_size', self.patch_size, 'patch_grid', self.patch_grid,
                h, w)
            # The release tiles with unfold(kernel=stride=patch size), which
            # may fit more patches than the nominal grid.
            patch_size, patch_counts = (ph, pw), (h // ph, w // pw)
            num_patches = patch_counts[0] * patch_counts[1]
            where = (f'{name}={given} on a {(h, w)} map gives '
                     f'{patch_counts[0]}x{patch_counts[1]} patches of '
                     f'{ph}x{pw}')
            if self.patches_per_group is not None:
                if num_patches % self.patches_per_group:
                    raise ValueError(
                        f'patches_per_group={self.patches_per_group} must '
                        f'divide the number of patches P = {num_patches} '
                        f'({where})')
                heads = num_patches // self.patches_per_group
            else:
                heads = self.num_heads
                stacked = num_patches * self.teacher_channels
                if stacked % heads:
                    raise ValueError(
                        f'num_heads={heads} must divide the stacked '
                        f'channels P*Ct = {patch_counts[0]}*{patch_counts[1]}'
                        f'*{self.teacher_channels} = {stacked} ({where})')
        if self.anchor_weight > 0:
            _, _, window = self._window('anchor_window', self.anchor_window,
                                        'anchor_grid', self.anchor_grid, h, w)
            anchor_counts = (h // window[0], w // window[1])
        return TaTGeometry(patch_size, patch_counts, heads, window,
                           anchor_counts)

    @staticmethod
    def _window(size_name: str, size: Optional[Tuple[int, int]],
                grid_name: str, grid: Optional[Tuple[int, int]], h: int,
                w: int) -> Tuple[str, Tuple[int, int], Tuple[int, int]]:
        """``(name, value as given, window in positions)`` of a patch or
        anchor window written as a size or as a grid, on an (h, w) map."""
        name, given = (size_name, size) if size is not None else (grid_name,
                                                                  grid)
        if given[0] > h or given[1] > w:
            raise ValueError(f'{name}={given} is larger than the feature '
                             f'map {(h, w)}')
        window = given if size is not None else (h // given[0],
                                                 w // given[1])
        return name, given, window

    def _uses_large_attention(self, geometry: TaTGeometry) -> bool:
        limit = self.LARGE_ATTENTION_POSITIONS
        for size in (geometry.patch_size, geometry.anchor_counts):
            if size is not None and size[0] * size[1] >= limit:
                return True
        return False

    @staticmethod
    def _large_attention_impl(device: torch.device) -> str:
        return large_attention_impl(device)

    # ------------------------------------------------------------------
    # input checks
    # ------------------------------------------------------------------
    def _check_inputs(self, preds_S: Tensor,
                      preds_T: Tensor) -> Tuple[Tensor, Tensor, TaTGeometry]:
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
        geometry = self.geometry(h, w)
        if (self.norm_stats == 'per_image' and self.training and h * w < 2):
            raise ValueError('norm_stats="per_image" needs more than one '
                             f'position per image in training, got {(h, w)}')
        return preds_S, preds_T.detach(), geometry

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
            out = ContiguousGrad.apply(out)
        return out

    def _embed_once(self, embed: nn.Sequential, x: Tensor,
                    update_stats: bool) -> Tensor:
        conv, bn = embed[0], embed[1]
        y = conv(x)
        if not bn.training and bn.running_mean is not None:
            return bn(y)  # eval: running statistics either way
        if self.norm_stats == 'per_image':
            return per_image_batch_norm(bn, y, update_stats)
        if update_stats:
            return bn(y)
        with frozen_running_stats(bn):
            return bn(y)

    # ------------------------------------------------------------------
    # the two branches
    # ------------------------------------------------------------------
    def _attention_mse(self, q: Tensor, k: Tensor, v: Tensor,
                       target: Tensor) -> Tensor:
        """See :func:`mmtat.models.ops.attention_mse`; inputs are
        ``(B, heads, d, L)``."""
        return attention_mse(
            q, k, v, target, self.LOGIT_FLOOR, self.LARGE_ATTENTION_POSITIONS,
            self.CHUNK_ELEMENTS, self._large_attention_impl(q.device))

    @staticmethod
    def _stack_patches(x: Tensor, geometry: TaTGeometry) -> Tensor:
        """``(B, C, H, W)`` -> ``(B, heads, d, ph * pw)``: whole patches in
        row-major order, stacked patch-major along channels, split into
        heads of consecutive channels."""
        (ph, pw), (nh, nw) = geometry.patch_size, geometry.patch_counts
        b, c = x.shape[:2]
        x = x[:, :, :nh * ph, :nw * pw].reshape(b, c, nh, ph, nw, pw)
        # (B, nh, nw, C, ph, pw): row-major patches, then channels, so that
        # consecutive channel chunks (heads) hold whole patches.
        x = x.permute(0, 2, 4, 1, 3, 5)
        return x.reshape(b, geometry.num_heads, -1, ph * pw)

    @staticmethod
    def _unstack_patches(x: Tensor, geometry: TaTGeometry) -> Tensor:
        """Inverse of :meth:`_stack_patches`: ``(B, C, nh * ph, nw * pw)``."""
        (ph, pw), (nh, nw) = geometry.patch_size, geometry.patch_counts
        b = x.size(0)
        x = x.reshape(b, nh, nw, -1, ph, pw).permute(0, 3, 1, 4, 2, 5)
        return x.reshape(b, -1, nh * ph, nw * pw)

    @staticmethod
    def _pool_anchors(x: Tensor, geometry: TaTGeometry) -> Tensor:
        """``(B, C, H, W)`` -> ``(B, 1, C, ah * aw)`` anchors."""
        window = geometry.anchor_window
        x = F.avg_pool2d(x, window, window)
        return x.flatten(2).unsqueeze(1)

    def _patch_group_loss(self, q: Tensor, k: Tensor, v: Tensor, f_t: Tensor,
                          geometry: TaTGeometry) -> Tensor:
        stack = self._stack_patches
        return self._attention_mse(
            stack(q, geometry), stack(k, geometry), stack(v, geometry),
            stack(f_t, geometry))

    def _anchor_loss(self, q: Tensor, k: Tensor, v: Tensor, f_t: Tensor,
                     geometry: TaTGeometry) -> Tensor:
        pool = self._pool_anchors
        return self._attention_mse(
            pool(q, geometry), pool(k, geometry), pool(v, geometry),
            pool(f_t, geometry))

    @torch.no_grad()
    def reconfigure(self, preds_S: Tensor, preds_T: Tensor) -> dict:
        """What the loss matches, for inspection (no gradients, no update
        of running statistics).

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
        embeds = [(self.query_embed, preds_S), (self.key_embed, preds_T),
                  (self.value_embed, preds_S)]
        q, k, v = (
            self._embed_once(embed, x, update_stats=False)
            if isinstance(embed, nn.Sequential) else embed(x)
            for embed, x in embeds)
        out = dict(geometry=geometry)

        def attend(q_, k_, v_):
            dtype = torch.promote_types(q_.dtype, torch.float32)
            q_, k_, v_ = (t.to(dtype) for t in (q_, k_, v_))
            logits = torch.matmul(q_.transpose(-1, -2), k_)
            floor_at = logits.amax(dim=-1, keepdim=True) - self.LOGIT_FLOOR
            attn = logits.clamp(min=floor_at).softmax(dim=-1)
            return attn, torch.matmul(v_, attn.transpose(-1, -2))

        if self.patch_weight > 0:
            stack = self._stack_patches
            attn, result = attend(
                stack(q, geometry), stack(k, geometry), stack(v, geometry))
            out['patch_attention'] = attn
            out['patch_output'] = self._unstack_patches(result, geometry)
        if self.anchor_weight > 0:
            pool = self._pool_anchors
            attn, result = attend(
                pool(q, geometry), pool(k, geometry), pool(v, geometry))
            ah, aw = geometry.anchor_counts
            out['anchor_attention'] = attn
            out['anchor_output'] = result.reshape(result.size(0), -1, ah, aw)
        return out

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
            dtype = torch.promote_types(preds_S.dtype, torch.float32)
            return preds_S.new_zeros((), dtype=dtype)
        batch = preds_T.size(0)
        step = self._images_per_step(preds_T)
        if step >= batch:
            return self.loss_weight * self._branch_losses(
                preds_S, preds_T, geometry)
        # Images are independent here (per-image or running statistics) and
        # all have the same size, so the mean over the batch is the
        # image-weighted mean of the steps' means. Running statistics are
        # updated step after step, i.e. still image after image.
        total = 0.0
        for start in range(0, batch, step):
            part = slice(start, start + step)
            n = preds_T[part].size(0)
            total = total + (n / batch) * self._branch_losses(
                preds_S[part], preds_T[part], geometry)
        return self.loss_weight * total

    def _images_per_step(self, preds_T: Tensor) -> int:
        """How many images to process at once (see ``CPU_STEP_BYTES``)."""
        coupled = self.norm_stats == 'batch' and self.training
        if preds_T.device.type != 'cpu' or coupled:
            return preds_T.size(0)
        per_image = preds_T[0].numel() * max(preds_T.element_size(), 4)
        return max(1, self.CPU_STEP_BYTES // per_image)

    def _branch_losses(self, preds_S: Tensor, preds_T: Tensor,
                       geometry: TaTGeometry) -> Tensor:
        """``patch_weight * L_patch + anchor_weight * L_anchor``."""
        recompute = self._uses_large_attention(geometry)
        q = self._embed(self.query_embed, preds_S, recompute)
        k = self._embed(self.key_embed, preds_T, recompute)
        v = self._embed(self.value_embed, preds_S, recompute)
        total: Optional[Tensor] = None
        if self.patch_weight > 0:
            total = self.patch_weight * self._patch_group_loss(
                q, k, v, preds_T, geometry)
        if self.anchor_weight > 0:
            anchor = self.anchor_weight * self._anchor_loss(
                q, k, v, preds_T, geometry)
            total = anchor if total is None else total + anchor
        assert total is not None
        return total
