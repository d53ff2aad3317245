"""The layout of TaT on a map (mmtat.models.losses.tat_geometry): grids
and sizes, validation, the tiling of patches, groups and anchors."""
import pytest
import torch
from release_reference import release_arguments
from tat_cases import (
    REFERENCE_CASES,
    assert_grads_close,
    inputs,
    make_module,
    reference,
)

from mmtat.models import TaTLoss
from mmtat.models.losses.tat_geometry import (
    pool_anchors,
    stack_patches,
    unstack_patches,
)


@pytest.mark.parametrize('h,w,grid,heads,anchors,sizes', [
    # the release's VOC layout on its 129x129 map: grid 16 = 8x8 patches,
    # 64 heads = 4 patches per group, anchor grid 32 = 4x4 windows
    (129, 129, (16, 16), 64, (32, 32), ((8, 8), 4, (4, 4))),
    # its COCO-Stuff layout: grid 32 = 4x4 patches, 512 heads = 2 per group
    (129, 129, (32, 32), 512, (32, 32), ((4, 4), 2, (4, 4))),
    # a 64x64 map with the VOC geometry, and a ragged 35x29 one
    (64, 64, (8, 8), 16, (16, 16), ((8, 8), 4, (4, 4))),
    (35, 29, (8, 8), 9, (5, 6), ((4, 3), 8, (7, 4))),
])
def test_sizes_give_the_release_grid_layout(h, w, grid, heads, anchors,
                                            sizes):
    patch_size, per_group, window = sizes
    by_grid = TaTLoss(4, 8, patch_grid=grid, num_heads=heads,
                      anchor_grid=anchors)
    by_size = TaTLoss(4, 8, patch_size=patch_size,
                      patches_per_group=per_group, anchor_window=window)
    assert by_grid.geometry(h, w) == by_size.geometry(h, w)
    geometry = by_size.geometry(h, w)
    assert geometry.patch_size == patch_size
    nh, nw = geometry.patch_counts
    assert geometry.num_heads * per_group == nh * nw


@pytest.mark.parametrize('name', ['basic', 'cropped_35x29', 'voc_layout'])
def test_size_geometry_matches_reference(name):
    """The reference takes grid counts; the same layout written in sizes
    gives the same loss and gradients."""
    b, cs, ct, h, w, kwargs = REFERENCE_CASES[name]
    grid = make_module(cs, ct, **kwargs)
    geometry = grid.geometry(h, w)
    nh, nw = geometry.patch_counts
    sized = dict(
        patch_size=geometry.patch_size,
        patches_per_group=nh * nw // geometry.num_heads,
        anchor_window=geometry.anchor_window)
    for key in ('patch_weight', 'anchor_weight', 'loss_weight'):
        if key in kwargs:
            sized[key] = kwargs[key]
    mod = make_module(cs, ct, **sized).double()
    assert mod.geometry(h, w) == geometry
    s, t = inputs(mod, b, h, w)
    args = release_arguments(grid)
    s_ref = s.clone().requires_grad_()
    want, _ = reference(mod, s_ref, t, release_args=args)
    s_mod = s.clone().requires_grad_()
    torch.testing.assert_close(mod(s_mod, t), want, rtol=1e-9, atol=0)
    got_grads = torch.autograd.grad(mod(s_mod, t), [s_mod])
    want_grads = torch.autograd.grad(want, [s_ref])
    assert_grads_close(got_grads, want_grads, 1e-9, 1e-12)


def test_sizes_keep_their_meaning_on_another_map():
    """Grid counts scale with the map, sizes in positions do not."""
    by_size = TaTLoss(4, 8, patch_size=(8, 8), patches_per_group=4,
                      anchor_window=(4, 4))
    by_grid = TaTLoss(4, 8, patch_grid=(8, 8), num_heads=16,
                      anchor_grid=(16, 16))
    assert by_size.geometry(64, 64) == by_grid.geometry(64, 64)
    small_size, small_grid = by_size.geometry(32, 48), by_grid.geometry(32,
                                                                        48)
    assert small_size.patch_size == (8, 8)
    assert small_size.num_heads == 4 * 6 // 4
    assert small_size.anchor_window == (4, 4)
    assert small_grid.patch_size == (4, 6)  # the grid shrank the patches


@pytest.mark.parametrize('kwargs,match', [
    (dict(patch_grid=(8, 8), patch_size=(8, 8)),
     'give patch_grid or patch_size, not both'),
    (dict(num_heads=4, patches_per_group=4),
     'give num_heads or patches_per_group, not both'),
    (dict(anchor_grid=4, anchor_window=4),
     'give anchor_grid or anchor_window, not both'),
    (dict(patch_size=(0, 4)), r'patch_size must be positive, got \(0, 4\)'),
    (dict(patches_per_group=-1), 'patches_per_group must be positive'),
    (dict(anchor_window=0), 'anchor_window must be positive'),
])
def test_size_constructor_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TaTLoss(4, 8, **kwargs)


@pytest.mark.parametrize('kwargs,match', [
    (dict(patch_size=(3, 3), patches_per_group=4),
     r'patches_per_group=4 must divide the number of patches P = 9 '
     r'\(patch_size=\(3, 3\) on a \(9, 10\) map gives 3x3 patches of 3x3\)'),
    (dict(patch_size=(10, 2)),
     r'patch_size=\(10, 2\) is larger than the feature map \(9, 10\)'),
    (dict(anchor_window=(2, 11)),
     r'anchor_window=\(2, 11\) is larger than the feature map \(9, 10\)'),
])
def test_size_geometry_errors(kwargs, match):
    args = dict(patch_size=(3, 2), anchor_window=(3, 3))
    args.update(kwargs)
    if 'patches_per_group' not in args:
        args['num_heads'] = 5
    mod = TaTLoss(4, 8, **args)
    with pytest.raises(ValueError, match=match):
        mod.geometry(9, 10)
    with pytest.raises(ValueError, match=match):
        mod(torch.randn(2, 4, 9, 10), torch.randn(2, 8, 9, 10))


def test_unstack_inverts_stack_on_the_tiled_region():
    mod = TaTLoss(4, 6, patch_size=(3, 2), patches_per_group=2,
                  anchor_weight=0)
    x = torch.randn(2, 6, 10, 9)  # 3x4 patches of 3x2: 1 row, 1 col left
    geometry = mod.geometry(10, 9)
    stacked = stack_patches(x, geometry)
    assert stacked.shape == (2, 6, 2 * 6, 3 * 2)
    torch.testing.assert_close(
        unstack_patches(stacked, geometry), x[:, :, :9, :8])


def test_stacking_is_row_major_patch_major_heads_of_consecutive_channels():
    """The release's layout written out by slicing: patch (i, j) of a
    3x4-patch tiling is patch i * 4 + j; head g holds stacked channels
    [g * d, (g + 1) * d) of patch-major stacking."""
    mod = TaTLoss(4, 3, patch_size=(3, 2), num_heads=6, anchor_weight=0)
    x = torch.randn(2, 3, 10, 9)
    geometry = mod.geometry(10, 9)
    assert geometry.patch_counts == (3, 4)
    patches = [x[:, :, i * 3:(i + 1) * 3, j * 2:(j + 1) * 2]
               for i in range(3) for j in range(4)]
    stacked_by_hand = torch.cat(patches, dim=1).flatten(2)  # (2, 12*3, 6)
    d = 12 * 3 // 6
    heads = stack_patches(x, geometry)
    for g in range(6):
        torch.testing.assert_close(heads[:, g],
                                   stacked_by_hand[:, g * d:(g + 1) * d])
    # anchors: window means, row-major
    anchors = pool_anchors(x, TaTLoss(4, 3, anchor_window=(5, 3),
                                      patch_weight=0).geometry(10, 9))
    assert anchors.shape == (2, 1, 3, 2 * 3)
    torch.testing.assert_close(anchors[:, 0, :, 4],
                               x[:, :, 5:10, 3:6].mean(dim=(2, 3)))
