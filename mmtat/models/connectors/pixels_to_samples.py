# Copyright (c) mmtat contributors. All rights reserved.
"""Per-pixel class scores as a batch of samples."""
from typing import Optional

from mmrazor.models.architectures.connectors.base_connector import (
    BaseConnector,
)
from mmrazor.registry import MODELS
from torch import Tensor

__all__ = ['PixelsToSamples']


@MODELS.register_module()
class PixelsToSamples(BaseConnector):
    """Turn a ``(B, C, H, W)`` map into ``(B * H * W, C)``: every pixel of
    every image becomes one sample of ``C`` scores.

    Logit losses written for classification, such as MMRazor's
    ``DISTLoss``, take ``(N, C)`` logits: their inter-class term correlates
    the ``C`` scores of each sample, their intra-class term each class over
    the ``N`` samples. Given a segmentation map they would correlate over the
    wrong axes; the DIST authors' segmentation code flattens the pixels into
    samples first (``hunto/DIST_KD``, ``segmentation/losses/dist_kd.py``),
    which this connector does on each side. Both sides are flattened in the
    same pixel order (row-major per image, images one after another); the
    losses it feeds average over samples, so the order itself does not
    matter. Any memory layout (SegFormer's heads give channels-last maps) is
    accepted.

    Shapes:
        - feature: :math:`(B, C, H, W)`
        - output: :math:`(B \\cdot H \\cdot W, C)`, contiguous
    """

    def __init__(self, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)

    def forward_train(self, feature: Tensor) -> Tensor:
        if not isinstance(feature, Tensor) or feature.dim() != 4:
            shape = (tuple(feature.shape) if isinstance(feature, Tensor) else
                     type(feature).__name__)
            raise ValueError('PixelsToSamples takes a (B, C, H, W) map, got '
                             f'{shape}')
        channels = feature.size(1)
        return feature.permute(0, 2, 3, 1).reshape(-1, channels).contiguous()
