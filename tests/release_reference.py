# Copyright (c) mmtat contributors. All rights reserved.
"""The TaT loss computed the way the authors' segmentation release does.

One plain re-implementation, written from facts read from the authors'
segmentation release (``sihaoevery/TaT-seg``, ``distiller_tat.py``; no
code taken from it) and sharing
no code with :class:`~mmtat.models.TaTLoss`, used three ways:

* the unit tests hold the loss and its gradients against it in float64
  (``tests/test_models/test_losses``), with :func:`functional_embeddings`:
  float64 leaf copies of the loss's parameters and BatchNorm written out by
  hand, so that the reference does not go through torch's BatchNorm kernels
  either;
* the GPU check (``python .dev_scripts/gpu_check.py``) holds the loss on
  the device against it, in float64 on the CPU;
* the loss benchmark (``python .dev_scripts/benchmark_tat_loss.py``) times
  it as the release's cost, with the loss's own embedding modules (what the
  release runs: ``nn.BatchNorm2d`` on a batch of one).

Test code, not part of the installed package: the tests import it by name
(``tests/`` is on their path), the maintainers' scripts put ``tests/`` on
theirs.

What the release does, and this function with it: a Python loop over the
images of the batch; the three embeddings called on a batch of one image
(so a training-mode BatchNorm normalises each image by its own statistics);
patches cut with ``unfold`` along H, then W (kernel = stride =
``(H // n, W // m)``: as many whole patches as fit, row-major), stacked
patch-major, then channel, into ``(1, P * C, ph, pw)``; heads over
consecutive chunks of that stacked channel axis; ``softmax(q k^T)`` with no
scaling and the whole attention materialised; anchors by ``avg_pool2d``
with window = stride; per-image mean squared errors against the raw teacher
feature, weighted, summed over the images and divided by the batch size.
Two things TaTLoss adds are reproduced plainly: a student feature of
another size is resized to the teacher's (bilinear, ``align_corners=False``),
and ``batch_stats=True`` embeds the whole batch at once (``norm_stats=
'batch'``).
"""
from typing import Callable, Dict, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    'release_tat_loss', 'release_arguments', 'functional_embeddings',
    'ReferenceEmbeddings'
]

Embedding = Callable[[Tensor], Tensor]


def _release_patches(x: Tensor, grid: Sequence[int]) -> Tensor:
    """``(1, C, H, W)`` -> ``(1, P * C, ph, pw)``: unfold's whole patches,
    row-major, stacked patch-major."""
    b, c, h, w = x.shape
    ph, pw = h // grid[0], w // grid[1]
    x = x.unfold(2, ph, ph).unfold(3, pw, pw)  # (b, c, nh, nw, ph, pw)
    x = x.contiguous().view(b, c, -1, ph, pw)
    return x.permute(0, 2, 1, 3, 4).reshape(b, -1, ph, pw)


def _heads_attention_mse(q: Tensor, k: Tensor, v: Tensor, target: Tensor,
                         heads: int, floor: Optional[float]) -> Tensor:
    """Attention inside each of ``heads`` consecutive channel groups of
    ``(1, C, h, w)`` maps over all ``h * w`` positions, then the MSE."""
    b, c, h, w = q.shape

    def to_heads(x: Tensor) -> Tensor:  # (b, heads, h * w, c / heads)
        return x.reshape(b, heads, c // heads, h * w).transpose(-1, -2)

    logits = torch.matmul(to_heads(q), to_heads(k).transpose(-1, -2))
    if floor is not None:  # diagnostic: TaTLoss's subnormal guard
        logits = logits.clamp(
            min=logits.detach().amax(-1, keepdim=True) - floor)
    out = torch.matmul(logits.softmax(dim=-1), to_heads(v))
    out = out.transpose(-1, -2).reshape(b, c, h, w)
    return F.mse_loss(out, target)


def release_tat_loss(preds_S: Tensor,
                     preds_T: Tensor,
                     embeddings: Tuple[Embedding, Embedding, Embedding],
                     patch_grid: Sequence[int],
                     num_heads: int,
                     anchor_grid: Sequence[int],
                     patch_weight: float = 1.0,
                     anchor_weight: float = 0.4,
                     loss_weight: float = 1.0,
                     batch_stats: bool = False,
                     logit_floor: Optional[float] = None) -> Tensor:
    """The release's TaT loss (see the module doc).

    Args:
        preds_S: student feature ``(B, Cs, Hs, Ws)``.
        preds_T: teacher feature ``(B, Ct, H, W)``; detached here.
        embeddings: ``(query, key, value)``: maps of ``(n, C, H, W)`` to
            ``(n, Ct, H, W)`` (modules, or :func:`functional_embeddings`).
        patch_grid, num_heads, anchor_grid, patch_weight, anchor_weight,
            loss_weight: the release's settings, as in TaTLoss.
        batch_stats: embed the whole batch in one call instead of image by
            image.
        logit_floor: raise logits to at least ``row max - logit_floor``
            (a diagnostic; the release has no floor).

    Returns:
        Tensor: the scalar loss.
    """
    f_t = preds_T.detach()
    f_s = preds_S
    if f_s.shape[2:] != f_t.shape[2:]:
        f_s = F.interpolate(f_s, size=f_t.shape[2:], mode='bilinear',
                            align_corners=False)
    query, key, value = embeddings
    if batch_stats:
        whole = (query(f_s), key(f_t), value(f_s))
    h, w = f_t.shape[2:]
    batch = f_s.size(0)
    total = 0.0
    for i in range(batch):
        s, t = f_s[i:i + 1], f_t[i:i + 1]
        if batch_stats:
            q, k, v = (x[i:i + 1] for x in whole)
        else:
            q, k, v = query(s), key(t), value(s)
        loss = 0.0
        if patch_weight > 0:
            stacked = [_release_patches(x, patch_grid) for x in (q, k, v, t)]
            loss = loss + patch_weight * _heads_attention_mse(
                *stacked, heads=num_heads, floor=logit_floor)
        if anchor_weight > 0:
            window = (h // anchor_grid[0], w // anchor_grid[1])
            pooled = [F.avg_pool2d(x, window, window) for x in (q, k, v, t)]
            loss = loss + anchor_weight * _heads_attention_mse(
                *pooled, heads=1, floor=logit_floor)
        total = total + loss
    return loss_weight * total / batch


def release_arguments(loss: nn.Module) -> dict:
    """The release's settings of a grid-form :class:`~mmtat.models.TaTLoss`
    (keyword arguments of :func:`release_tat_loss`).

    Raises:
        ValueError: for a loss whose geometry is given in positions
            (``patch_size`` / ``patches_per_group`` / ``anchor_window``):
            the release takes grid counts, which depend on the map.
    """
    for name in ('patch_size', 'patches_per_group', 'anchor_window'):
        if getattr(loss, name) is not None:
            raise ValueError(
                f'the release takes grid counts; this loss has {name}='
                f'{getattr(loss, name)}: give the equivalent patch_grid / '
                'num_heads / anchor_grid for the map')
    return dict(
        patch_grid=loss.patch_grid,
        num_heads=loss.num_heads,
        anchor_grid=loss.anchor_grid,
        patch_weight=loss.patch_weight,
        anchor_weight=loss.anchor_weight,
        loss_weight=loss.loss_weight,
        batch_stats=loss.norm_stats == 'batch')


class ReferenceEmbeddings(NamedTuple):
    """:func:`functional_embeddings`' result.

    Attributes:
        query, key, value: the embeddings as functions.
        parameters: name (as in ``loss.named_parameters()``) -> the leaf
            copy the functions use; gradients arrive here.
    """
    query: Embedding
    key: Embedding
    value: Embedding
    parameters: Dict[str, Tensor]


def _batch_norm_by_hand(y: Tensor, weight: Tensor, bias: Tensor, eps: float,
                        running: Optional[Tuple[Tensor, Tensor]]) -> Tensor:
    """Statistics of the batch given (biased variance), or ``running``."""
    if running is None:
        mean = y.mean(dim=(0, 2, 3), keepdim=True)
        var = ((y - mean)**2).mean(dim=(0, 2, 3), keepdim=True)
    else:
        mean, var = (r.view(1, -1, 1, 1) for r in running)
    xhat = (y - mean) / torch.sqrt(var + eps)
    return xhat * weight.view(1, -1, 1, 1) + bias.view(1, -1, 1, 1)


def functional_embeddings(loss: nn.Module,
                          dtype: torch.dtype = torch.float64
                          ) -> ReferenceEmbeddings:
    """The embeddings of a :class:`~mmtat.models.TaTLoss` as functions of
    ``dtype`` leaf copies of its parameters, with BatchNorm by hand: the
    statistics of whatever batch a function is called on (the loss in
    training mode; :func:`release_tat_loss` calls it on one image at a
    time), or the running statistics (a BN layer in eval mode).

    The copies are taken now; later changes to ``loss`` do not reach them.
    """
    parameters: Dict[str, Tensor] = {}

    def leaf(name: str, tensor: Tensor) -> Tensor:
        parameters[name] = tensor.detach().to(dtype).clone().requires_grad_()
        return parameters[name]

    def function(name: str) -> Embedding:
        module = getattr(loss, name)
        if not isinstance(module, nn.Sequential):  # the identity key
            return lambda x: x
        conv, bn = module
        weight = leaf(f'{name}.0.weight', conv.weight)
        gamma = leaf(f'{name}.1.weight', bn.weight)
        beta = leaf(f'{name}.1.bias', bn.bias)
        running = None
        if not bn.training and bn.running_mean is not None:
            running = (bn.running_mean.detach().to(dtype).clone(),
                       bn.running_var.detach().to(dtype).clone())
        padding = weight.shape[-1] // 2
        eps = bn.eps

        def embed(x: Tensor) -> Tensor:
            y = F.conv2d(x.to(dtype), weight, padding=padding)
            return _batch_norm_by_hand(y, gamma, beta, eps, running)

        return embed

    query, key, value = (function(n)
                         for n in ('query_embed', 'key_embed', 'value_embed'))
    order = [name for name, _ in loss.named_parameters()]
    return ReferenceEmbeddings(query, key, value,
                               {n: parameters[n] for n in order})
