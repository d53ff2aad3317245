# Copyright (c) mmtat contributors. All rights reserved.
"""BatchNorm variants of the TaT embeddings.

The authors' release runs the loss image by image, so each image's query,
key and value are normalised with that image's own statistics and the
running statistics see ``B`` batch-of-one updates. These kernels do the same
in one batched call (:func:`per_image_batch_norm`), and run a training-mode
BN without touching its running statistics (:func:`frozen_running_stats`,
for recomputation in backward); :func:`embedding_batch_norm` chooses between
them.
"""
from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

__all__ = [
    'embedding_batch_norm', 'frozen_running_stats', 'per_image_batch_norm',
    'update_running_stats_sequentially'
]


def embedding_batch_norm(bn: _BatchNorm, y: Tensor, per_image: bool,
                         update_stats: bool = True) -> Tensor:
    """``bn(y)`` as TaT's embeddings normalise.

    Args:
        bn (_BatchNorm): the embedding's BN layer (plain or SyncBN).
        y (Tensor): ``(B, C, H, W)``, the conv output.
        per_image (bool): in training, each image by its own statistics
            (:func:`per_image_batch_norm`); else ``bn``'s own batch
            statistics.
        update_stats (bool): whether the running statistics receive this
            call (False for a recomputation in backward).

    Returns:
        Tensor: ``(B, C, H, W)``; in eval mode normalised with the running
        statistics either way.
    """
    if not bn.training and bn.running_mean is not None:
        return bn(y)
    if per_image:
        return per_image_batch_norm(bn, y, update_stats)
    if update_stats:
        return bn(y)
    with frozen_running_stats(bn):
        return bn(y)


@contextmanager
def frozen_running_stats(bn: _BatchNorm) -> Iterator[None]:
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


def per_image_batch_norm(bn: _BatchNorm,
                         y: Tensor,
                         update_stats: bool = True) -> Tensor:
    """Training-mode BatchNorm with each image's own statistics, in one
    kernel call.

    Viewing ``(B, C, H, W)`` as ``(1, B * C, H, W)`` makes every (image,
    channel) pair a BN channel. Scratch running buffers with momentum 1 then
    receive exactly the per-image mean and unbiased variance, which feed the
    sequential running-stat update without a second pass over the data.

    Args:
        bn (_BatchNorm): the layer whose affine parameters, ``eps`` and
            running statistics are used.
        y (Tensor): ``(B, C, H, W)``, any memory layout.
        update_stats (bool): whether ``bn``'s running statistics receive the
            ``B`` batch-of-one updates.

    Returns:
        Tensor: ``(B, C, H, W)``.
    """
    b, c, h, w = y.shape
    track = (update_stats and bn.track_running_stats
             and bn.running_mean is not None)
    stat_dtype = (bn.running_mean.dtype if bn.running_mean is not None else
                  torch.promote_types(y.dtype, torch.float32))
    means = torch.zeros(b * c, dtype=stat_dtype, device=y.device)
    vars_ = torch.ones(b * c, dtype=stat_dtype, device=y.device)
    weight = bn.weight.repeat(b) if bn.weight is not None else None
    bias = bn.bias.repeat(b) if bn.bias is not None else None
    out = F.batch_norm(
        y.contiguous().view(1, b * c, h, w), means, vars_, weight, bias, True,
        1.0, bn.eps).view(b, c, h, w)
    if track:
        update_running_stats_sequentially(bn, means.view(b, c),
                                          vars_.view(b, c))
    return out


@torch.no_grad()
def update_running_stats_sequentially(bn: _BatchNorm, means: Tensor,
                                      vars_: Tensor) -> None:
    """Apply ``B`` batch-of-one BN running-stat updates in order.

    Args:
        bn (_BatchNorm): the layer to update.
        means (Tensor): ``(B, C)`` per-image means.
        vars_ (Tensor): ``(B, C)`` per-image unbiased variances.
    """
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
