"""A two-parameter model and a constant dataset: the smallest things an
mmengine ``Runner`` trains, for tests of hooks, checkpoints and resuming
that are about the engine, not about segmentation."""
import signal
from typing import Any, Optional

import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
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


def toy_runner(work_dir, max_iters: int, experiment_name: str, hooks=(),
               size: int = 8, checkpoint_interval: Optional[int] = 100,
               **runner_args: Any) -> Runner:
    """A Runner that trains :class:`ToyModel` on ``ToyDataset(size)`` (in
    order, batches of 2, no loader workers) with SGD at lr 0.01 for
    ``max_iters`` iterations, a checkpoint every ``checkpoint_interval``
    (None: no CheckpointHook), and ``hooks`` as its ``custom_hooks``.
    ``runner_args`` add or replace Runner arguments (``model``,
    ``optim_wrapper``, ``resume``, ...)."""
    checkpoint = None if checkpoint_interval is None else dict(
        type='CheckpointHook', interval=checkpoint_interval, by_epoch=False)
    args = dict(
        model=ToyModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=ToyDataset(size),
            sampler=dict(type='InfiniteSampler', shuffle=False),
            batch_size=2,
            num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=checkpoint),
        custom_hooks=list(hooks),
        # MessageHub instances are global per experiment name
        experiment_name=experiment_name,
        default_scope='mmengine')
    args.update(runner_args)
    return Runner(**args)


class SigtermAt(Hook):
    """Sends this process SIGTERM during iteration ``at`` (1-based)."""

    def __init__(self, at: int) -> None:
        self.at = at

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.at:
            signal.raise_signal(signal.SIGTERM)
