# Copyright (c) mmtat contributors. All rights reserved.
"""How :class:`~mmtat.models.TaTLoss` spends memory and time.

Nothing here changes what the loss computes beyond float resolution; each
setting trades memory or speed (or guards a torch bug) and is tested for
what it keeps, see ``tests/test_models/test_losses/test_tat_policy.py``.
What each costs or saves is measured by the loss benchmark
(``python -m mmtat.tools.benchmark_tat_loss``: the ``tat_no_cpu_steps``,
``tat_no_logit_floor`` and ``tat_sdpa`` rows), not stated here.
"""
import dataclasses
from typing import Callable, Optional

import torch
from torch import Tensor
from torch.utils.checkpoint import checkpoint

from ...compat import ContiguousGrad
from ..ops import attention_mse
from .tat_geometry import TaTGeometry

__all__ = ['TaTExecutionPolicy']


@dataclasses.dataclass(frozen=True)
class TaTExecutionPolicy:
    """The memory and speed measures of the TaT loss.

    ``TaTLoss.policy`` holds the one in use (class-wide; assign
    ``loss.policy = dataclasses.replace(loss.policy, ...)`` for one loss).

    Attributes:
        large_attention_positions (int): memory. From this many positions
            per head the ``L x L`` attention is never materialised (fused
            SDPA on CUDA, a query-chunked kernel elsewhere, see
            :func:`~mmtat.models.ops.attention_mse`), and the embeddings'
            intermediates are recomputed in backward instead of kept (their
            running statistics are updated once). A 2048 x 2048 float32
            attention is 16 MiB per image and head.
        chunk_elements (int): memory. Element budget of one ``(B * heads) x
            chunk x L`` block of the chunked kernel (4 MiB in float32).
        large_attention_kernel (str, optional): None chooses (fused SDPA
            where it can run, else the chunked kernel; never SDPA's math
            kernel, which materialises ``L x L``); ``'sdpa'`` or
            ``'chunked'`` forces one (diagnostics, tests).
        cpu_step_bytes (int): CPU speed. On the CPU the batch goes through
            the loss in steps of as many images as keep one teacher-sized
            float32 map within this many bytes, each step fully vectorised
            (larger steps measured slower when this was written; the
            benchmark's ``tat_no_cpu_steps`` row measures it again; it also
            bounds the peak memory by the step). Exact: images are
            independent under per-image or running statistics; a batch
            whose statistics couple the images (``norm_stats='batch'`` in
            training) goes in one step.
        logit_floor (float): speed. Logits further than this below their
            row maximum are raised to it, so that no softmax weight is a
            subnormal float (x86 arithmetic on subnormals takes a slow
            path); the weight moved is below float32/float64 resolution
            (:func:`~mmtat.models.ops.floored_softmax_`).
        contiguous_embedding_grad (bool): correctness. The embeddings'
            outputs hand a contiguous gradient to their BatchNorm
            (:class:`mmtat.compat.ContiguousGrad`, fix 7: torch's CPU
            BatchNorm backward is wrong for the gradient layout that the
            attention produces for one image). On every device: it costs
            one copy per embedding, and the CUDA kernel has not been checked
            (the GPU check's one-image global case would show it).
    """
    large_attention_positions: int = 2048
    chunk_elements: int = 1 << 20
    large_attention_kernel: Optional[str] = None
    cpu_step_bytes: int = 8 << 20
    logit_floor: float = 50.0
    contiguous_embedding_grad: bool = True

    def uses_large_attention(self, geometry: TaTGeometry) -> bool:
        """Whether a branch of ``geometry`` attends over at least
        ``large_attention_positions`` positions."""
        for size in (geometry.patch_size, geometry.anchor_counts):
            if size is not None and size[0] * size[1] >= \
                    self.large_attention_positions:
                return True
        return False

    def attention_mse(self, q: Tensor, k: Tensor, v: Tensor,
                      target: Tensor) -> Tensor:
        """:func:`~mmtat.models.ops.attention_mse` with these settings;
        ``(B, heads, d, L)`` inputs."""
        return attention_mse(q, k, v, target, self.logit_floor,
                             self.large_attention_positions,
                             self.chunk_elements, self.large_attention_kernel)

    def images_per_step(self, preds_T: Tensor, images_coupled: bool) -> int:
        """How many images go through the loss at once (see
        ``cpu_step_bytes``)."""
        if preds_T.device.type != 'cpu' or images_coupled:
            return preds_T.size(0)
        per_image = preds_T[0].numel() * max(preds_T.element_size(), 4)
        return max(1, self.cpu_step_bytes // per_image)

    def batch_mean(self, loss_fn: Callable[[Tensor, Tensor], Tensor],
                   preds_S: Tensor, preds_T: Tensor,
                   images_coupled: bool) -> Tensor:
        """``loss_fn(preds_S, preds_T)``, a mean over the batch, in steps of
        :meth:`images_per_step` images.

        All images have the same size, so the batch mean is the
        image-weighted mean of the steps' means; running statistics are
        updated step after step, i.e. still image after image.
        """
        batch = preds_T.size(0)
        step = self.images_per_step(preds_T, images_coupled)
        if step >= batch:
            return loss_fn(preds_S, preds_T)
        total = 0.0
        for start in range(0, batch, step):
            part = slice(start, start + step)
            n = preds_T[part].size(0)
            total = total + (n / batch) * loss_fn(preds_S[part],
                                                  preds_T[part])
        return total

    def embedding(self, run: Callable[[Tensor, bool], Tensor], x: Tensor,
                  recompute: bool) -> Tensor:
        """``run(x, update_stats)``, one embedding, under these measures.

        With ``recompute`` (the large-attention path) its intermediate (the
        conv output BatchNorm's backward needs) is dropped after forward
        and recomputed in backward; ``update_stats`` is True in forward
        only, so the running statistics see the batch once.
        """
        if recompute and torch.is_grad_enabled():
            first_call = [True]

            def run_once(inp: Tensor) -> Tensor:
                update, first_call[0] = first_call[0], False
                return run(inp, update)

            out = checkpoint(
                run_once, x, use_reentrant=False, preserve_rng_state=False)
        else:
            out = run(x, True)
        if self.contiguous_embedding_grad and out.requires_grad:
            out = ContiguousGrad.apply(out)
        return out
