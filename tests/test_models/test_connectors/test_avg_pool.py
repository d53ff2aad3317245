"""AvgPoolConnector."""
import pytest
import torch

import mmtat  # noqa: F401
from mmtat.models import AvgPoolConnector


def test_avg_pool_connector_gives_a_contiguous_coarser_map():
    x = torch.randn(2, 19, 8, 12).contiguous(
        memory_format=torch.channels_last)
    out = AvgPoolConnector(kernel_size=2)(x)
    assert out.shape == (2, 19, 4, 6) and out.is_contiguous()
    torch.testing.assert_close(out, torch.nn.functional.avg_pool2d(x, 2))
    # what MMRazor's ChannelWiseDivergence does with it
    out.view(-1, 4 * 6)
    with pytest.raises(ValueError, match='kernel_size must be a positive'):
        AvgPoolConnector(kernel_size=0)
