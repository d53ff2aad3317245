# Copyright (c) mmtat contributors. All rights reserved.
"""A contiguous gradient for the TaT embeddings' BatchNorm.

torch's CPU ``batch_norm`` backward returns a wrong input gradient, with no
error, for a contiguous input whose ``grad_output`` has channels-last
strides and a size-1 batch dimension with a stride smaller than one image.
A stride of a size-1 dimension must not change any result, so this is a
torch bug; no upstream report of it was found. It is reproduced by
:func:`cpu_batch_norm_backward_is_wrong` on torch 2.13 and 2.14.1 (CPU).

TaT's attention hands exactly that layout back to an embedding for a batch
(or a CPU step) of one image with one patch, e.g. global TaT on one image:
through the transposes of ``q^T k`` and ``v A^T`` the gradient of a
``(1, C, H, W)`` embedding arrives with channels-last strides and a batch
stride of ``C``. :class:`ContiguousGrad` goes between each embedding and
what consumes it.
"""
import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ['ContiguousGrad', 'cpu_batch_norm_backward_is_wrong']


class ContiguousGrad(torch.autograd.Function):
    """Identity whose backward hands on a contiguous gradient.

    Forward returns a view of its input; backward costs one copy of the
    gradient when that is not contiguous already. The TaT loss applies it
    to every embedding output on every device (``contiguous_embedding_grad``
    of :class:`~mmtat.models.TaTLoss`): the bug is known on the CPU, and
    the copy is small next to the attention.
    """

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:  # type: ignore[override]
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:  # type: ignore[override]
        return grad.contiguous()


def cpu_batch_norm_backward_is_wrong() -> bool:
    """Whether this torch has the bug: the CPU input gradient of a
    training-mode ``batch_norm`` of one image, for a channels-last
    ``grad_output`` whose batch stride is 1, differs from the gradient for
    the same values in contiguous memory."""
    generator = torch.Generator().manual_seed(0)
    with torch.enable_grad(), torch.autocast('cpu', enabled=False):
        x = torch.randn(1, 8, 4, 4, dtype=torch.float64, generator=generator,
                        requires_grad=True)
        y = F.batch_norm(x, None, None, training=True)
        grad = torch.randn(1, 4, 4, 8, dtype=torch.float64,
                           generator=generator).permute(0, 3, 1, 2)
        strided = grad.as_strided(grad.shape, (1, ) + grad.stride()[1:])
        (got, ) = torch.autograd.grad(y, x, strided, retain_graph=True)
        (want, ) = torch.autograd.grad(y, x, strided.contiguous())
    return not torch.allclose(got, want, rtol=1e-9, atol=1e-12)
