# Copyright (c) mmtat contributors. All rights reserved.
"""Token sequences of transformer layers as 2-D feature maps."""
import math
from typing import Optional, Sequence, Tuple

from mmrazor.models.architectures.connectors.base_connector import (
    BaseConnector,
)
from mmrazor.registry import MODELS
from torch import Tensor

__all__ = ['TokensToMap', 'infer_token_grid', 'grid_for_tokens']


def infer_token_grid(num_tokens: int,
                     input_size: Sequence[int],
                     max_extra_tokens: int = 1
                     ) -> Optional[Tuple[int, int, int]]:
    """Find the ``(H, W)`` grid of ``num_tokens`` tokens of an image of
    ``input_size``.

    A transformer stage of stride ``s`` has ``ceil(H_in / s) * ceil(W_in /
    s)`` tokens (``floor`` for strided convolutions without padding), plus,
    for ViT-like models, leading class/distillation tokens. The smallest
    stride that explains ``num_tokens`` wins, without extra tokens first.

    Args:
        num_tokens (int): ``N`` of a ``(B, N, C)`` feature.
        input_size (Sequence[int]): ``(H_in, W_in)`` of the network input.
        max_extra_tokens (int): how many leading non-spatial tokens to try.

    Returns:
        tuple | None: ``(H, W, extra_tokens)``, or None if no stride fits.
    """
    height, width = int(input_size[0]), int(input_size[1])
    for extra in range(max_extra_tokens + 1):
        tokens = num_tokens - extra
        if tokens < 1:
            break
        for stride in range(1, max(height, width) + 1):
            for rounding in (math.ceil, math.floor):
                h, w = rounding(height / stride), rounding(width / stride)
                if h * w == tokens:
                    return h, w, extra
    return None


def grid_for_tokens(num_tokens: int, aspect: float) -> Tuple[int, int]:
    """The factor pair ``(H, W)`` of ``num_tokens`` whose ``H / W`` is
    closest to ``aspect``."""
    best = None
    for h in range(1, num_tokens + 1):
        if num_tokens % h:
            continue
        w = num_tokens // h
        score = abs(math.log(h / w) - math.log(aspect))
        if best is None or score < best[0]:
            best = (score, h, w)
    assert best is not None
    return best[1], best[2]


@MODELS.register_module()
class TokensToMap(BaseConnector):
    """Turn ``(B, N, C)`` tokens into a ``(B, C, H, W)`` map.

    Tokens are taken in row-major order (as MMSegmentation's transformer
    backbones flatten their maps); ``extra_tokens`` leading tokens (a ViT's
    class token) are dropped. The result is a view (no copy), channels
    strided, which TaT's embeddings accept as it is.

    When a batch brings another token count than ``map_size`` (a different
    input size), the grid is the factorisation of the count whose aspect
    ratio is closest to ``map_size``'s.

    Args:
        map_size (tuple[int, int]): ``(H, W)`` of the map at the training
            input size.
        extra_tokens (int): leading tokens that are not positions.
            Defaults to 0.

    Shapes:
        - feature: :math:`(B, N, C)` with ``N = extra_tokens + H * W``
        - output: :math:`(B, C, H, W)`
    """

    def __init__(self,
                 map_size: Sequence[int],
                 extra_tokens: int = 0,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if (not isinstance(map_size, (tuple, list)) or len(map_size) != 2
                or not all(isinstance(v, int) and v > 0 for v in map_size)):
            raise ValueError('map_size must be a pair of positive ints, got '
                             f'{map_size!r}')
        if not isinstance(extra_tokens, int) or extra_tokens < 0:
            raise ValueError('extra_tokens must be a non-negative int, got '
                             f'{extra_tokens!r}')
        self.map_size = (int(map_size[0]), int(map_size[1]))
        self.extra_tokens = extra_tokens

    def forward_train(self, feature: Tensor) -> Tensor:
        if not isinstance(feature, Tensor) or feature.dim() != 3:
            shape = tuple(feature.shape) if isinstance(feature,
                                                       Tensor) else feature
            raise ValueError('TokensToMap expects (B, N, C) tokens, got '
                             f'{shape}')
        b, n, c = feature.shape
        tokens = n - self.extra_tokens
        if tokens < 1:
            raise ValueError(f'{n} tokens, but extra_tokens='
                             f'{self.extra_tokens}')
        h, w = self.map_size
        if tokens != h * w:
            h, w = grid_for_tokens(tokens, h / w)
        positions = feature[:, self.extra_tokens:]
        return positions.transpose(1, 2).reshape(b, c, h, w)

    def extra_repr(self) -> str:
        return f'map_size={self.map_size}, extra_tokens={self.extra_tokens}'
