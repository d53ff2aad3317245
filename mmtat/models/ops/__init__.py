"""Numerical kernels of the TaT loss (attention and BatchNorm variants)."""
from .attention import (
    ChunkedAttentionMSE,
    attention_mse,
    floored_softmax_,
    large_attention_impl,
)
from .batch_norm import (
    ContiguousGrad,
    frozen_running_stats,
    per_image_batch_norm,
    update_running_stats_sequentially,
)

__all__ = [
    'attention_mse', 'large_attention_impl', 'floored_softmax_',
    'ChunkedAttentionMSE', 'ContiguousGrad', 'frozen_running_stats',
    'per_image_batch_norm', 'update_running_stats_sequentially'
]
