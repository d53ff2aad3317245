"""TokensToMap and the token-grid inference of TaTDistiller."""
import pytest
import torch

import mmtat  # noqa: F401
from mmtat.models import TokensToMap
from mmtat.models.connectors import grid_for_tokens, infer_token_grid


@pytest.mark.parametrize('tokens,size,expected', [
    (64 * 64, (512, 512), (64, 64, 0)),  # stride 8
    (128 * 256, (512, 1024), (128, 256, 0)),  # MiT stage 1, stride 4
    (1 + 32 * 32, (512, 512), (32, 32, 1)),  # ViT, patch 16, class token
    (23 * 30, (360, 480), (23, 30, 0)),  # ceil(360 / 16) x 480 / 16
    (22 * 30, (360, 480), (22, 30, 0)),  # floor of the same stride
    (61, (32, 32), None),  # prime, above any 1-row grid of the input
])
def test_infer_token_grid(tokens, size, expected):
    assert infer_token_grid(tokens, size) == expected


def test_grid_for_tokens_keeps_the_aspect():
    assert grid_for_tokens(32 * 64, 0.5) == (32, 64)
    assert grid_for_tokens(36, 1.0) == (6, 6)
    assert grid_for_tokens(7, 1.0) in ((1, 7), (7, 1))


def test_row_major_tokens_become_the_map_as_a_view():
    feature_map = torch.randn(2, 5, 3, 4)
    cls = torch.randn(2, 1, 5)
    tokens = torch.cat([cls, feature_map.flatten(2).transpose(1, 2)], dim=1)
    out = TokensToMap(map_size=(3, 4), extra_tokens=1)(tokens)
    assert torch.equal(out, feature_map)
    assert out.data_ptr() == tokens[:, 1:].data_ptr()  # no copy
    # another token count: the grid closest to the training aspect
    wide = torch.randn(2, 6 * 8, 5)
    assert TokensToMap(map_size=(3, 4))(wide).shape == (2, 5, 6, 8)


@pytest.mark.parametrize('kwargs,match', [
    (dict(map_size=(0, 4)), 'map_size must be a pair of positive ints'),
    (dict(map_size=(4, 4), extra_tokens=-1), 'extra_tokens must be'),
])
def test_constructor_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TokensToMap(**kwargs)


def test_forward_errors():
    with pytest.raises(ValueError, match=r'expects \(B, N, C\) tokens, got '
                       r'\(2, 3, 4, 5\)'):
        TokensToMap(map_size=(4, 5))(torch.randn(2, 3, 4, 5))
    with pytest.raises(ValueError, match='1 tokens, but extra_tokens=1'):
        TokensToMap(map_size=(1, 1), extra_tokens=1)(torch.randn(2, 1, 3))

