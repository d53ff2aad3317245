"""mmengine checkpoints load back under torch's weights-only ``torch.load``
(the default since torch 2.6) once ``mmtat`` is imported."""
import pickle

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import Runner

import mmtat  # noqa: F401


class ToyModel(BaseModel):

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
    metainfo = dict(classes=('a', 'b'), palette=[[0, 0, 0], [1, 1, 1]])

    def __len__(self) -> int:
        return 8

    def __getitem__(self, index: int) -> dict:
        return dict(inputs=torch.full((2, ), float(index)))


def _runner(work_dir, max_iters: int, resume: bool = False,
            load_from=None) -> Runner:
    return Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=ToyDataset(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=2,
            num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        param_scheduler=dict(type='PolyLR', power=0.9, eta_min=1e-4,
                             by_epoch=False, end=max_iters),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=2,
                            by_epoch=False),
            logger=dict(type='LoggerHook', interval=1)),
        resume=resume,
        load_from=load_from,
        # MessageHub instances are global per experiment name
        experiment_name=f'{work_dir.name}_{max_iters}_{resume}',
        default_scope='mmengine')


def test_runner_checkpoint_loads_weights_only(tmp_path):
    runner = _runner(tmp_path, max_iters=2)
    runner.train()
    ckpt_path = tmp_path / 'iter_2.pth'
    assert ckpt_path.exists()

    # What mmengine writes really needs the allow-list: the message hub
    # holds HistoryBuffer objects with numpy arrays inside.
    checkpoint = torch.load(ckpt_path, map_location='cpu', weights_only=True)
    assert checkpoint['meta']['iter'] == 2
    log_scalars = checkpoint['message_hub']['log_scalars']
    assert type(log_scalars['train/loss']).__name__ == 'HistoryBuffer'
    assert len(log_scalars['train/loss'].data[0]) == 2


def test_resume_continues_at_next_iteration(tmp_path):
    _runner(tmp_path, max_iters=2).train()
    first = torch.load(tmp_path / 'iter_2.pth', weights_only=True)

    resumed = _runner(tmp_path, max_iters=4, resume=True)
    resumed.train()
    # Resumed from iter 2 (not from scratch), so iter 3 and 4 ran and the
    # loss history of the first run was carried over by the message hub.
    assert resumed.iter == 4
    history = resumed.message_hub.get_scalar('train/loss').data[0]
    assert len(history) == 4
    final = torch.load(tmp_path / 'iter_4.pth', weights_only=True)
    assert final['meta']['iter'] == 4
    assert not torch.equal(final['state_dict']['linear.weight'],
                           first['state_dict']['linear.weight'])


def test_load_from_uses_weights(tmp_path):
    _runner(tmp_path / 'a', max_iters=2).train()
    trained = torch.load(tmp_path / 'a' / 'iter_2.pth', weights_only=True)
    runner = _runner(tmp_path / 'b', max_iters=2,
                     load_from=str(tmp_path / 'a' / 'iter_2.pth'))
    runner.load_or_resume()
    assert torch.equal(runner.model.linear.weight,
                       trained['state_dict']['linear.weight'])


class _NotAllowed:

    def __reduce__(self):
        return (print, ('should never run',))


def test_other_globals_are_still_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': _NotAllowed()}, path)
    with pytest.raises(pickle.UnpicklingError, match='print'):
        torch.load(path, weights_only=True)


class _GetattrEscape:

    def __reduce__(self):
        from mmengine.logging.history_buffer import HistoryBuffer
        return (getattr, (HistoryBuffer, '__init__'))


def test_getattr_is_limited_to_history_buffer_statistics(tmp_path):
    path = tmp_path / 'escape.pth'
    torch.save({'payload': _GetattrEscape()}, path)
    with pytest.raises(pickle.UnpicklingError, match='refusing getattr'):
        torch.load(path, weights_only=True)


def test_fresh_process_loads_checkpoint(tmp_path):
    """A resuming process loads the checkpoint before mmengine has created
    any HistoryBuffer (whose statistics methods it pickles)."""
    import subprocess
    import sys
    _runner(tmp_path, max_iters=2).train()
    code = ('import torch, mmtat\n'
            f'ckpt = torch.load({str(tmp_path / "iter_2.pth")!r}, '
            'weights_only=True)\n'
            "buf = ckpt['message_hub']['log_scalars']['train/loss']\n"
            "print(buf.statistics('mean'))\n")
    result = subprocess.run([sys.executable, '-c', code],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout.strip().splitlines()[-1]) > 0
