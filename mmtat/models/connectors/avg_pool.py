# Copyright (c) mmtat contributors. All rights reserved.
"""Average pooling of a feature map onto a coarser grid."""
from typing import Optional

import torch.nn.functional as F
from mmrazor.models.architectures.connectors.base_connector import (
    BaseConnector,
)
from mmrazor.registry import MODELS
from torch import Tensor

__all__ = ['AvgPoolConnector']


@MODELS.register_module()
class AvgPoolConnector(BaseConnector):
    """Average-pool a ``(B, C, H, W)`` map with window = stride and hand it
    on in contiguous (NCHW) memory.

    Brings a stride-4 feature or logit map onto a stride-8 student's grid
    (``kernel_size=2``). The output is contiguous because transformer heads
    (SegFormer's) produce channels-last maps, which losses that ``view``
    their inputs (MMRazor's ``ChannelWiseDivergence``) refuse.

    Args:
        kernel_size (int): pooling window and stride.

    Shapes:
        - feature: :math:`(B, C, H, W)`
        - output: :math:`(B, C, H // k, W // k)`, contiguous
    """

    def __init__(self,
                 kernel_size: int,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if (not isinstance(kernel_size, int) or isinstance(kernel_size, bool)
                or kernel_size < 1):
            raise ValueError('kernel_size must be a positive int, got '
                             f'{kernel_size!r}')
        self.kernel_size = kernel_size

    def forward_train(self, feature: Tensor) -> Tensor:
        return F.avg_pool2d(feature, self.kernel_size).contiguous()

    def extra_repr(self) -> str:
        return f'kernel_size={self.kernel_size}'
