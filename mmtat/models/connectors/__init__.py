from .avg_pool import AvgPoolConnector
from .tokens_to_map import TokensToMap, grid_for_tokens, infer_token_grid

__all__ = [
    'AvgPoolConnector', 'TokensToMap', 'infer_token_grid', 'grid_for_tokens'
]
