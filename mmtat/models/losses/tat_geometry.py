# Copyright (c) mmtat contributors. All rights reserved.
"""Where TaT's two branches look on a feature map: patches, groups, anchors.

The layout follows the authors' segmentation release (``sihaoevery/TaT-seg``,
``distiller_tat.py``; facts read from it, no code taken):

* patches are cut with ``unfold`` (kernel = stride = ``(H // n, W // m)``),
  so as many WHOLE patches as fit are used: ``H // (H // n)`` rows, which is
  ``n`` unless ``H % n >= H // n`` (W=29, m=8 -> 3-wide patches -> 9
  columns); rows/columns left over at the bottom/right are dropped;
* the patch index is row-major (``i * m' + j``) and the patches are stacked
  patch-major, then channel, into ``(B, P * C, ph, pw)``; heads are
  consecutive chunks of that stacked channel axis;
* anchors are ``avg_pool2d`` with kernel = stride, which tiles alike.

A layout is given either as the release's grid counts, relative to the map
(``patch_grid``, ``num_heads``, ``anchor_grid``), or in feature-map positions,
which keep their meaning when the crop changes (``patch_size``,
``patches_per_group``, ``anchor_window``). :class:`TaTGeometrySpec` holds one
of each pair, :func:`tat_geometry` resolves it on a map and validates it, and
:func:`stack_patches` / :func:`unstack_patches` / :func:`pool_anchors` apply
it to a tensor.
"""
from typing import NamedTuple, Optional, Sequence, Tuple, Union

import torch.nn.functional as F
from torch import Tensor

from ..utils import as_pair, as_positive_int

__all__ = [
    'TaTGeometry', 'TaTGeometrySpec', 'tat_geometry', 'stack_patches',
    'unstack_patches', 'pool_anchors'
]

Pair = Union[int, Sequence[int]]
#: The layout when neither form of a setting is given.
DEFAULT_PATCH_GRID = (8, 8)
DEFAULT_NUM_HEADS = 16
DEFAULT_ANCHOR_GRID = (16, 16)


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


def _one_of(grid_name: str, grid, size_name: str, size, convert,
            default_grid):
    """``(grid, size)`` of a setting given as a release grid count or as a
    size (exactly one of the two is not None)."""
    if grid is not None and size is not None:
        raise ValueError(f'give {grid_name} or {size_name}, not both '
                         f'(got {grid_name}={grid!r}, {size_name}={size!r})')
    if size is not None:
        return None, convert(size, size_name)
    return convert(default_grid if grid is None else grid, grid_name), None


class TaTGeometrySpec(NamedTuple):
    """A TaT layout as written in a config, validated (see the module doc).

    Of each pair (``patch_grid`` / ``patch_size``, ``num_heads`` /
    ``patches_per_group``, ``anchor_grid`` / ``anchor_window``) exactly one
    is set; build it with :meth:`from_args`.
    """
    patch_grid: Optional[Tuple[int, int]]
    patch_size: Optional[Tuple[int, int]]
    num_heads: Optional[int]
    patches_per_group: Optional[int]
    anchor_grid: Optional[Tuple[int, int]]
    anchor_window: Optional[Tuple[int, int]]

    @classmethod
    def from_args(cls,
                  patch_grid: Optional[Pair] = None,
                  num_heads: Optional[int] = None,
                  anchor_grid: Optional[Pair] = None,
                  patch_size: Optional[Pair] = None,
                  patches_per_group: Optional[int] = None,
                  anchor_window: Optional[Pair] = None) -> 'TaTGeometrySpec':
        """Validate the arguments of :class:`~mmtat.models.TaTLoss`; a pair
        of which neither form is given takes the default grid form.

        Raises:
            ValueError: both forms of a setting given, or a value that is
                not positive.
            TypeError: a value that is not an int (pair).
        """
        patch_grid, patch_size = _one_of('patch_grid', patch_grid,
                                         'patch_size', patch_size, as_pair,
                                         DEFAULT_PATCH_GRID)
        num_heads, patches_per_group = _one_of(
            'num_heads', num_heads, 'patches_per_group', patches_per_group,
            as_positive_int, DEFAULT_NUM_HEADS)
        anchor_grid, anchor_window = _one_of('anchor_grid', anchor_grid,
                                             'anchor_window', anchor_window,
                                             as_pair, DEFAULT_ANCHOR_GRID)
        return cls(patch_grid, patch_size, num_heads, patches_per_group,
                   anchor_grid, anchor_window)


def _window(size_name: str, size: Optional[Tuple[int, int]], grid_name: str,
            grid: Optional[Tuple[int, int]], h: int,
            w: int) -> Tuple[str, Tuple[int, int], Tuple[int, int]]:
    """``(name, value as given, window in positions)`` of a patch or anchor
    window written as a size or as a grid, on an ``(h, w)`` map."""
    name, given = (size_name, size) if size is not None else (grid_name,
                                                              grid)
    if given[0] > h or given[1] > w:
        raise ValueError(f'{name}={given} is larger than the feature map '
                         f'{(h, w)}')
    window = given if size is not None else (h // given[0], w // given[1])
    return name, given, window


def tat_geometry(spec: TaTGeometrySpec, teacher_channels: int, height: int,
                 width: int, patches: bool = True,
                 anchors: bool = True) -> TaTGeometry:
    """The layout of ``spec`` on a teacher map of ``(height, width)``.

    Args:
        spec: the layout as configured.
        teacher_channels: ``Ct``, the stacking unit of a patch.
        height, width: the teacher map's size.
        patches, anchors: whether that branch is used (an unused branch is
            neither resolved nor validated).

    Raises:
        ValueError: if a used branch does not fit the map (patches or anchor
            windows larger than the map, heads that do not divide the
            stacked patches).
    """
    h, w = height, width
    patch_size = patch_counts = heads = None
    window = anchor_counts = None
    if patches:
        name, given, (ph, pw) = _window('patch_size', spec.patch_size,
                                        'patch_grid', spec.patch_grid, h, w)
        patch_size, patch_counts = (ph, pw), (h // ph, w // pw)
        num_patches = patch_counts[0] * patch_counts[1]
        where = (f'{name}={given} on a {(h, w)} map gives '
                 f'{patch_counts[0]}x{patch_counts[1]} patches of {ph}x{pw}')
        if spec.patches_per_group is not None:
            if num_patches % spec.patches_per_group:
                raise ValueError(
                    f'patches_per_group={spec.patches_per_group} must divide '
                    f'the number of patches P = {num_patches} ({where})')
            heads = num_patches // spec.patches_per_group
        else:
            heads = spec.num_heads
            stacked = num_patches * teacher_channels
            if stacked % heads:
                raise ValueError(
                    f'num_heads={heads} must divide the stacked channels '
                    f'P*Ct = {patch_counts[0]}*{patch_counts[1]}*'
                    f'{teacher_channels} = {stacked} ({where})')
    if anchors:
        _, _, window = _window('anchor_window', spec.anchor_window,
                               'anchor_grid', spec.anchor_grid, h, w)
        anchor_counts = (h // window[0], w // window[1])
    return TaTGeometry(patch_size, patch_counts, heads, window, anchor_counts)


def stack_patches(x: Tensor, geometry: TaTGeometry) -> Tensor:
    """``(B, C, H, W)`` -> ``(B, heads, d, ph * pw)``: the whole patches in
    row-major order, stacked patch-major along channels, split into heads of
    ``d = P * C / heads`` consecutive channels."""
    (ph, pw), (nh, nw) = geometry.patch_size, geometry.patch_counts
    b, c = x.shape[:2]
    x = x[:, :, :nh * ph, :nw * pw].reshape(b, c, nh, ph, nw, pw)
    # (B, nh, nw, C, ph, pw): row-major patches, then channels, so that
    # consecutive channel chunks (heads) hold whole patches.
    x = x.permute(0, 2, 4, 1, 3, 5)
    return x.reshape(b, geometry.num_heads, -1, ph * pw)


def unstack_patches(x: Tensor, geometry: TaTGeometry) -> Tensor:
    """Inverse of :func:`stack_patches`: ``(B, C, nh * ph, nw * pw)``, the
    tiled region of the map."""
    (ph, pw), (nh, nw) = geometry.patch_size, geometry.patch_counts
    b = x.size(0)
    x = x.reshape(b, nh, nw, -1, ph, pw).permute(0, 3, 1, 4, 2, 5)
    return x.reshape(b, -1, nh * ph, nw * pw)


def pool_anchors(x: Tensor, geometry: TaTGeometry) -> Tensor:
    """``(B, C, H, W)`` -> ``(B, 1, C, ah * aw)``: the anchors (window means,
    row-major) as one head."""
    window = geometry.anchor_window
    return F.avg_pool2d(x, window, window).flatten(2).unsqueeze(1)
