"""mmengine checkpoints load back under torch's weights-only ``torch.load``
(the default since torch 2.6) once ``mmtat`` is imported, through mmengine's
own loader only: every other ``torch.load`` behaves as torch ships it."""
import pickle

import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner import CheckpointLoader, Runner
from toy_runner import ToyDataset, ToyModel

import mmtat  # noqa: F401
from mmtat.compat import MMENGINE_SAFE_GLOBALS, mmengine_checkpoint_globals


def load(path) -> dict:
    """What mmengine (load_from, resume, load_checkpoint) does."""
    return CheckpointLoader.load_checkpoint(str(path), map_location='cpu')


def _mmtat_globals_active() -> bool:
    active = set(map(id, torch.serialization.get_safe_globals()))
    return bool(active & set(map(id, MMENGINE_SAFE_GLOBALS)))


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
    # holds HistoryBuffer objects with numpy arrays inside ...
    checkpoint = load(ckpt_path)
    assert checkpoint['meta']['iter'] == 2
    log_scalars = checkpoint['message_hub']['log_scalars']
    assert type(log_scalars['train/loss']).__name__ == 'HistoryBuffer'
    assert len(log_scalars['train/loss'].data[0]) == 2
    # ... which only mmengine's loader gets: torch.load elsewhere in the
    # process refuses these globals exactly as torch does without mmtat
    assert not _mmtat_globals_active()
    with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer'):
        torch.load(ckpt_path, map_location='cpu', weights_only=True)
    with mmengine_checkpoint_globals():
        assert _mmtat_globals_active()
        again = torch.load(ckpt_path, map_location='cpu', weights_only=True)
    assert again['meta']['iter'] == 2
    assert not _mmtat_globals_active()


def test_resume_continues_at_next_iteration(tmp_path):
    _runner(tmp_path, max_iters=2).train()
    first = load(tmp_path / 'iter_2.pth')

    resumed = _runner(tmp_path, max_iters=4, resume=True)
    resumed.train()
    # Resumed from iter 2 (not from scratch), so iter 3 and 4 ran and the
    # loss history of the first run was carried over by the message hub.
    assert resumed.iter == 4
    history = resumed.message_hub.get_scalar('train/loss').data[0]
    assert len(history) == 4
    final = load(tmp_path / 'iter_4.pth')
    assert final['meta']['iter'] == 4
    assert not torch.equal(final['state_dict']['linear.weight'],
                           first['state_dict']['linear.weight'])


def test_load_from_uses_weights(tmp_path):
    _runner(tmp_path / 'a', max_iters=2).train()
    trained = load(tmp_path / 'a' / 'iter_2.pth')
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
        load(path)


class _GetattrEscape:

    def __reduce__(self):
        from mmengine.logging.history_buffer import HistoryBuffer
        return (getattr, (HistoryBuffer, '__init__'))


def test_getattr_is_limited_to_history_buffer_statistics(tmp_path):
    path = tmp_path / 'escape.pth'
    torch.save({'payload': _GetattrEscape()}, path)
    with pytest.raises(pickle.UnpicklingError, match='refusing getattr'):
        load(path)


class _ClassEscape:

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__class__'))


def _save_with_statistics(path, table: dict) -> None:
    """A checkpoint whose HistoryBuffer carries ``table`` as statistics
    (what a crafted file can hold: __getstate__ writes the class table)."""
    buffer = HistoryBuffer([1.0, 2.0, 9.0], [1, 1, 1])
    saved = dict(HistoryBuffer._statistics_methods)
    HistoryBuffer._statistics_methods.clear()
    HistoryBuffer._statistics_methods.update(table)
    try:
        torch.save({'message_hub': {'log_scalars': {'loss': buffer}}}, path)
    finally:
        HistoryBuffer._statistics_methods.clear()
        HistoryBuffer._statistics_methods.update(saved)


def test_malicious_checkpoint_cannot_change_history_buffer(tmp_path):
    """HistoryBuffer.__setstate__ copies a checkpoint's name -> method table
    into the class: a crafted checkpoint must neither replace 'mean' for the
    whole process nor add names that later loads would trust."""
    HistoryBuffer()  # the process's own statistics, as after any training
    before = dict(HistoryBuffer._statistics_methods)
    path = tmp_path / 'crafted.pth'
    _save_with_statistics(path, {
        'mean': HistoryBuffer.max,  # 'mean' would report the maximum
        'current': HistoryBuffer.min,
        '__class__': HistoryBuffer.min,  # a name a later getattr would use
    })
    loaded = load(path)['message_hub']['log_scalars']['loss']
    assert HistoryBuffer._statistics_methods == before
    assert loaded.statistics('mean') == pytest.approx(4.0)
    assert loaded.statistics('current') == pytest.approx(9.0)
    # getattr of a name outside the four statistics stays refused
    escape = tmp_path / 'class.pth'
    torch.save({'payload': _ClassEscape()}, escape)
    with pytest.raises(pickle.UnpicklingError, match='refusing getattr'):
        load(escape)


def test_fresh_process_loads_checkpoint(tmp_path):
    """A resuming process loads the checkpoint before mmengine has created
    any HistoryBuffer (whose statistics methods it pickles)."""
    import subprocess
    import sys
    _runner(tmp_path, max_iters=2).train()
    code = ('import mmtat\n'
            'from mmengine.runner import CheckpointLoader\n'
            'ckpt = CheckpointLoader.load_checkpoint('
            f'{str(tmp_path / "iter_2.pth")!r})\n'
            "buf = ckpt['message_hub']['log_scalars']['train/loss']\n"
            "print(buf.statistics('mean'))\n")
    result = subprocess.run([sys.executable, '-c', code],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert float(result.stdout.strip().splitlines()[-1]) > 0
