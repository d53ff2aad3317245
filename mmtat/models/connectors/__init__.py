from .tokens_to_map import TokensToMap, grid_for_tokens, infer_token_grid

__all__ = ['TokensToMap', 'infer_token_grid', 'grid_for_tokens']
