"""Transitional home of the CPU BatchNorm-backward guard (moving to
``mmtat.models.ops``)."""
import torch

__all__ = ['ContiguousGrad', 'cpu_batch_norm_backward_is_wrong']


class ContiguousGrad(torch.autograd.Function):
    """Identity whose backward hands on a contiguous gradient.

    Costs one copy of the gradient of the tensor it wraps.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore
        return grad.contiguous()


def cpu_batch_norm_backward_is_wrong() -> bool:
    """Whether this torch has the bug: the CPU input gradient of a
    training-mode ``batch_norm`` of one image, for a channels-last
    ``grad_output`` whose batch stride is 1, differs from the gradient for
    the same values in contiguous memory."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(1, 8, 4, 4, dtype=torch.float64, generator=generator,
                    requires_grad=True)
    y = torch.nn.functional.batch_norm(x, None, None, training=True)
    grad = torch.randn(1, 4, 4, 8, dtype=torch.float64,
                       generator=generator).permute(0, 3, 1, 2)
    strided = grad.as_strided(grad.shape, (1, ) + grad.stride()[1:])
    (got, ) = torch.autograd.grad(y, x, strided, retain_graph=True)
    (want, ) = torch.autograd.grad(y, x, strided.contiguous())
    return not torch.allclose(got, want, rtol=1e-9, atol=1e-12)
