from .avg_pool import AvgPoolConnector
from .pixels_to_samples import PixelsToSamples
from .tokens_to_map import TokensToMap, grid_for_tokens, infer_token_grid

__all__ = [
    'AvgPoolConnector', 'PixelsToSamples', 'TokensToMap', 'infer_token_grid',
    'grid_for_tokens'
]
