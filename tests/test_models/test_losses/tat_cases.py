"""Helpers of the TaT loss tests: losses with non-trivial parameters, and
the comparison of loss and gradients with the release reference
(``tests/release_reference.py``: an image loop, ``unfold`` patches,
BatchNorm by hand on float64 leaf copies of the parameters; it shares no
code with the loss)."""
import torch
import torch.nn as nn
from release_reference import (
    functional_embeddings,
    release_arguments,
    release_tat_loss,
)

import mmtat  # noqa: F401  (applies mmtat.compat before MMRazor loads)
from mmtat.models import TaTLoss

# (B, Cs, Ct, H, W, kwargs)
REFERENCE_CASES = {
    'basic': (2, 6, 8, 16, 16, dict(patch_grid=(4, 4), num_heads=4,
                                    anchor_grid=(4, 4))),
    # 35x29 with an 8x8 grid: 4x3 patches, 3 bottom rows and 2 right columns
    # dropped, and 29 // 3 = 9 patch columns (the release's unfold tiling).
    'cropped_35x29': (2, 5, 8, 35, 29, dict(patch_grid=(8, 8), num_heads=8,
                                            anchor_grid=(5, 6))),
    # Release VOC layout: 16x16 patches, 64 heads (4 patches per group).
    'voc_layout': (2, 3, 4, 32, 32, dict(patch_grid=(16, 16), num_heads=64,
                                         anchor_grid=(16, 16),
                                         anchor_weight=0.4,
                                         loss_weight=0.1)),
    # Release COCO-Stuff layout: 32x32 patches, 512 heads.
    'coco_layout': (2, 3, 2, 64, 64, dict(patch_grid=(32, 32), num_heads=512,
                                          anchor_grid=(32, 32),
                                          anchor_weight=1.0,
                                          loss_weight=0.6)),
    # Heads that split patches (d = 3 < Ct = 6), ImageNet-style embeddings.
    'split_patches_imagenet': (2, 4, 6, 12, 12, dict(
        patch_grid=(2, 2), num_heads=8, anchor_grid=(3, 3),
        embed_kernel_size=3, use_key_embed=False)),
    # Batch of one.
    'single_image': (1, 4, 8, 16, 12, dict(patch_grid=(2, 3), num_heads=2,
                                           anchor_grid=(4, 4))),
    # Global TaT on one image: the attention's gradient layout that torch's
    # CPU BatchNorm backward gets wrong (mmtat.models.ops.contiguous_grad).
    'global_single_image': (1, 4, 8, 8, 10, dict(patch_grid=(1, 1),
                                                 num_heads=1,
                                                 anchor_weight=0.0)),
}


def make_module(cs, ct, seed=0, **kwargs):
    torch.manual_seed(seed)
    mod = TaTLoss(cs, ct, **kwargs)
    # Non-trivial affine parameters; moderate gains keep the attention away
    # from one-hot so that gradients through the softmax are exercised.
    with torch.no_grad():
        for seq in (mod.query_embed, mod.key_embed, mod.value_embed):
            if isinstance(seq, nn.Sequential):
                seq[1].weight.uniform_(0.2, 0.6)
                seq[1].bias.uniform_(-0.5, 0.5)
    return mod


def reference(mod, s, t, release_args=None):
    """``(loss, {name: float64 leaf parameter})`` of the release reference
    with ``mod``'s parameters and BN statistics (running ones in eval)."""
    embeddings = functional_embeddings(mod)
    args = release_arguments(mod) if release_args is None else release_args
    loss = release_tat_loss(s, t, embeddings[:3], **args)
    return loss, embeddings.parameters


def assert_grads_close(got, want, rtol, atol):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g is not None
        torch.testing.assert_close(g.double(), w.double(), rtol=rtol,
                                   atol=atol)


def inputs(mod, b, h, w, hs=None, ws=None, seed=1, image_spread=False):
    """float64 ``(s, t)``; ``image_spread``: images with different scales
    and offsets (where per-image and batch statistics differ)."""
    g = torch.Generator().manual_seed(seed)
    s = torch.randn(b, mod.student_channels, hs or h, ws or w, generator=g,
                    dtype=torch.float64)
    if image_spread:
        s = s * torch.arange(1, b + 1, dtype=s.dtype).view(-1, 1, 1, 1) + \
            torch.arange(b, dtype=s.dtype).view(-1, 1, 1, 1)
    t = torch.randn(b, mod.teacher_channels, h, w, generator=g,
                    dtype=torch.float64)
    return s, t


def compare_with_reference(mod, b, h, w, dtype, rtol, atol, hs=None,
                           ws=None, seed=1, image_spread=False):
    """Loss and gradients (student feature, every parameter) of ``mod`` in
    ``dtype`` against the float64 release reference; returns the loss."""
    s, t = inputs(mod, b, h, w, hs, ws, seed, image_spread)
    s_ref = s.clone().requires_grad_()
    want, params = reference(mod, s_ref, t)
    want_grads = torch.autograd.grad(want, [s_ref] + list(params.values()))

    mod = mod.to(dtype)
    s_mod = s.to(dtype).requires_grad_()
    got = mod(s_mod, t.to(dtype))
    got_grads = torch.autograd.grad(got, [s_mod] + list(mod.parameters()))
    torch.testing.assert_close(got.double(), want.double(), rtol=rtol,
                               atol=0)
    assert_grads_close(got_grads, want_grads, rtol, atol)
    return got
