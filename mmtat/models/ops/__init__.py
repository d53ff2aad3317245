"""Numerical kernels of the TaT loss (attention and BatchNorm variants)."""
from .attention import (
    ChunkedAttentionMSE,
    attention_mse,
    floored_softmax_,
    tat_attention,
)
from .batch_norm import (
    conv_batch_norm,
    per_image_batch_norm,
    update_running_stats_sequentially,
)
from .contiguous_grad import ContiguousGrad, cpu_batch_norm_backward_is_wrong
from .sdpa import (
    FUSED_SDPA_BACKENDS,
    LargeAttentionPlan,
    attention_matrix_bytes,
    choose_large_attention,
    plan_large_attention,
    sdpa_attention_mse,
)

__all__ = [
    'tat_attention', 'attention_mse', 'floored_softmax_',
    'ChunkedAttentionMSE', 'conv_batch_norm', 'per_image_batch_norm',
    'update_running_stats_sequentially', 'ContiguousGrad',
    'cpu_batch_norm_backward_is_wrong', 'FUSED_SDPA_BACKENDS',
    'LargeAttentionPlan', 'attention_matrix_bytes', 'choose_large_attention',
    'plan_large_attention', 'sdpa_attention_mse'
]
