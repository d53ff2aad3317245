"""mmtat.engine.loader_workers: the training loader's workers started again
read the batches the run would have read, and the run's random numbers
stay the same."""
import signal

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner
from toy_runner import ToyDataset, ToyModel

from mmtat.engine import (
    install_termination_handler,
    restart_train_workers,
    uninstall_termination_handler,
)


class Record(Hook):
    """The samples of each batch, and a random number drawn after it."""

    def __init__(self) -> None:
        self.batches = []
        self.randoms = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.batches.append(
            [int(x[0]) for x in data_batch['inputs']])
        self.randoms.append(torch.rand(1).item())


class Restart(Hook):
    """Installs the SIGTERM handler after the workers started, then starts
    them again, as PreemptionHook does from a config."""

    def __init__(self) -> None:
        self.restarted = []

    def before_train(self, runner):
        install_termination_handler()

    def before_train_epoch(self, runner):
        self.restarted.append(restart_train_workers(runner))
        # a second hook asking in the same epoch finds fresh workers
        self.restarted.append(restart_train_workers(runner))


class SigtermBlocked(ToyDataset):
    """Sample ``i`` is ``(i, b)``, b = 1 where the process that loads it
    has SIGTERM blocked (a worker forked with the handler in place)."""

    def __getitem__(self, index):
        blocked = signal.SIGTERM in signal.pthread_sigmask(signal.SIG_BLOCK,
                                                           [])
        return dict(inputs=torch.tensor([float(index), float(blocked)]))


def _run(work_dir, hooks, persistent):
    runner = Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=SigtermBlocked(16),
            sampler=dict(type='InfiniteSampler', shuffle=True),
            batch_size=2,
            num_workers=2,
            persistent_workers=persistent),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=6),
        default_hooks=dict(checkpoint=None),
        custom_hooks=hooks,
        randomness=dict(seed=0),
        experiment_name=f'workers_{work_dir.name}',
        default_scope='mmengine')
    runner.train()
    return runner


@pytest.mark.parametrize('persistent', [True, False])
def test_restarted_workers_read_the_same_batches(tmp_path, persistent):
    plain = Record()
    _run(tmp_path / 'plain', [plain], persistent)
    record, restart = Record(), Restart()
    try:
        _run(tmp_path / 'restarted', [restart, record], persistent)
    finally:
        uninstall_termination_handler()
    assert restart.restarted == [True, False]
    assert record.batches == plain.batches
    assert record.randoms == plain.randoms
    assert len({i for batch in plain.batches for i in batch}) > 2


def test_workers_started_again_inherit_the_handler(tmp_path):
    class Blocked(Hook):
        def __init__(self):
            self.flags = []

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            self.flags += [int(x[1]) for x in data_batch['inputs']]

    before, after = Blocked(), Blocked()

    class InstallOnly(Hook):
        def before_train(self, runner):
            install_termination_handler()

    try:
        _run(tmp_path / 'old', [InstallOnly(), before], True)
        uninstall_termination_handler()
        _run(tmp_path / 'new', [Restart(), after], True)
    finally:
        uninstall_termination_handler()
    # workers forked when the loop was built, before any hook: unguarded
    assert set(before.flags) == {0}
    assert set(after.flags) == {1}


def test_nothing_to_restart_without_workers(tmp_path):
    runner = Runner(
        model=ToyModel(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=ToyDataset(4),
            sampler=dict(type='InfiniteSampler', shuffle=False),
            batch_size=2,
            num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=1),
        default_hooks=dict(checkpoint=None),
        experiment_name=f'no_workers_{tmp_path.name}',
        default_scope='mmengine')
    assert not restart_train_workers(runner)  # no loop built yet
    runner.train()
    assert not restart_train_workers(runner)
