"""A two-parameter model and a constant dataset: the smallest things an
mmengine ``Runner`` trains, for tests of hooks, checkpoints and resuming
that are about the engine, not about segmentation."""
import torch
from mmengine.model import BaseModel
from torch import nn


class ToyModel(BaseModel):
    """``y = linear(x)`` trained towards 1."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        inputs = torch.stack(inputs) if isinstance(inputs, list) else inputs
        pred = self.linear(inputs)
        if mode == 'loss':
            return dict(loss=(pred - 1).pow(2).mean())
        return pred


class ToyDataset(torch.utils.data.Dataset):
    """``size`` samples; sample ``i`` is the 2-vector ``(i, i)``."""
    metainfo = dict(classes=('a', 'b'), palette=[[0, 0, 0], [1, 1, 1]])

    def __init__(self, size: int = 8) -> None:
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> dict:
        return dict(inputs=torch.full((2, ), float(index)))
