# Copyright (c) mmtat contributors. All rights reserved.
"""BatchNorm of the TaT embeddings.

The authors' release runs the loss image by image, so each image's query,
key and value are normalised with that image's own statistics and the
running statistics see ``B`` batch-of-one updates. :func:`conv_batch_norm`
computes an embedding ``BN(Conv(x))`` (per image in one kernel call, or with
the batch's statistics) and never touches the layer's running statistics:
it returns the statistics they are to receive, and
:func:`update_running_stats_sequentially` applies them. The loss calls the
two separately, so a recomputation of the embedding in backward cannot
update the statistics a second time.
"""
from contextlib import contextmanager
from typing import Iterator, Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

__all__ = [
    'conv_batch_norm', 'per_image_batch_norm',
    'update_running_stats_sequentially'
]

#: ``(means, unbiased variances)``, each ``(N, C)``: ``N`` updates of a
#: layer's running statistics, in order.
Stats = Tuple[Tensor, Tensor]


def _tracks(bn: _BatchNorm) -> bool:
    return bn.track_running_stats and bn.running_mean is not None


def conv_batch_norm(conv: nn.Module, bn: _BatchNorm, x: Tensor,
                    per_image: bool) -> Tuple[Tensor, Optional[Stats]]:
    """``bn(conv(x))`` as TaT's embeddings normalise, running statistics
    untouched.

    Args:
        conv (nn.Module): the embedding's convolution.
        bn (_BatchNorm): the embedding's BN layer (plain or SyncBN).
        x (Tensor): ``(B, C_in, H, W)``, the feature embedded.
        per_image (bool): in training, each image by its own statistics
            (:func:`per_image_batch_norm`); else ``bn``'s own forward with
            the batch's statistics (SyncBN: gathered from every process).

    Returns:
        ``(out, stats)``: ``out`` ``(B, C, H, W)`` (in eval mode normalised
        with the running statistics either way); ``stats`` what the running
        statistics are to receive (``B`` updates per image, one for the
        batch), None in eval mode or when ``bn`` tracks none.
    """
    y = conv(x)
    if not bn.training and bn.running_mean is not None:
        return bn(y), None
    if per_image:
        return per_image_batch_norm(bn, y)
    if not _tracks(bn):
        return bn(y), None
    mean = torch.zeros_like(bn.running_mean)
    var = torch.ones_like(bn.running_var)
    with _running_stats_into(bn, mean, var):
        out = bn(y)
    return out, (mean.unsqueeze(0), var.unsqueeze(0))


@contextmanager
def _running_stats_into(bn: _BatchNorm, mean: Tensor,
                        var: Tensor) -> Iterator[None]:
    """Training-mode ``bn`` calls write their batch mean and unbiased
    variance into ``mean`` / ``var`` (momentum 1) instead of updating
    ``bn``'s running statistics. ``bn``'s own forward still runs, so a
    SyncBN layer keeps gathering its statistics across processes."""
    kept = (bn.running_mean, bn.running_var, bn.num_batches_tracked,
            bn.momentum)
    bn.running_mean, bn.running_var = mean, var
    if kept[2] is not None:
        bn.num_batches_tracked = torch.zeros_like(kept[2])
    bn.momentum = 1.0  # running = 0 * running + 1 * batch
    try:
        yield
    finally:
        (bn.running_mean, bn.running_var, bn.num_batches_tracked,
         bn.momentum) = kept


def per_image_batch_norm(bn: _BatchNorm,
                         y: Tensor) -> Tuple[Tensor, Optional[Stats]]:
    """Training-mode BatchNorm with each image's own statistics, in one
    kernel call, running statistics untouched.

    Viewing ``(B, C, H, W)`` as ``(1, B * C, H, W)`` makes every (image,
    channel) pair a BN channel. Scratch running buffers with momentum 1 then
    receive exactly the per-image mean and unbiased variance, which feed the
    sequential running-stat update without a second pass over the data.

    Args:
        bn (_BatchNorm): the layer whose affine parameters and ``eps`` are
            used.
        y (Tensor): ``(B, C, H, W)``, any memory layout.

    Returns:
        ``(out (B, C, H, W), stats)``: ``stats`` the ``(B, C)`` per-image
        means and unbiased variances, None when ``bn`` tracks no running
        statistics.
    """
    b, c, h, w = y.shape
    stat_dtype = (bn.running_mean.dtype if bn.running_mean is not None else
                  torch.promote_types(y.dtype, torch.float32))
    means = torch.zeros(b * c, dtype=stat_dtype, device=y.device)
    vars_ = torch.ones(b * c, dtype=stat_dtype, device=y.device)
    weight = bn.weight.repeat(b) if bn.weight is not None else None
    bias = bn.bias.repeat(b) if bn.bias is not None else None
    out = F.batch_norm(
        y.contiguous().view(1, b * c, h, w), means, vars_, weight, bias, True,
        1.0, bn.eps).view(b, c, h, w)
    if not _tracks(bn):
        return out, None
    return out, (means.view(b, c), vars_.view(b, c))


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
