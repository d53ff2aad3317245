"""Atomic checkpoint files: a write is all or nothing, and the checkpoint
that max_keep_ckpts drops survives until the next one is complete."""
import os
import socket

import pytest
import torch
from mmengine.config import Config
from mmengine.fileio import get_file_backend

from mmtat.engine import (
    ATOMIC_BACKEND,
    AtomicLocalBackend,
    atomic_write,
    remove_partial_files,
    use_atomic_checkpoints,
)
from mmtat.engine.atomic_io import PARTIAL_SUFFIX


def test_atomic_write_replaces_the_file_in_one_step(tmp_path):
    path = tmp_path / 'sub' / 'iter_1.pth'
    atomic_write(path, b'old')
    atomic_write(path, b'new content')
    assert path.read_bytes() == b'new content'
    assert os.listdir(tmp_path / 'sub') == ['iter_1.pth']


def test_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / 'iter_1.pth'
    atomic_write(path, b'complete')

    def die(*args):
        raise KeyboardInterrupt  # the process stops in the middle

    monkeypatch.setattr(os, 'replace', die)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, b'half')
    assert path.read_bytes() == b'complete'
    [leftover] = tmp_path.glob(f'.iter_1.pth.*{PARTIAL_SUFFIX}')
    # named by the process that wrote it
    assert leftover.name == (f'.iter_1.pth.{socket.gethostname()}.'
                             f'{os.getpid()}{PARTIAL_SUFFIX}')
    assert leftover.read_bytes() == b'half'
    assert remove_partial_files(str(tmp_path)) == [str(leftover)]
    assert sorted(os.listdir(tmp_path)) == ['iter_1.pth']


def test_backend_is_what_mmengine_picks_by_name(tmp_path):
    backend = get_file_backend(str(tmp_path),
                               backend_args=dict(backend=ATOMIC_BACKEND))
    assert isinstance(backend, AtomicLocalBackend)
    backend.put_text('x', tmp_path / 'last_checkpoint')
    assert (tmp_path / 'last_checkpoint').read_text() == 'x'


def test_removed_checkpoint_waits_for_the_next_complete_one(tmp_path):
    hook_backend = AtomicLocalBackend()  # CheckpointHook's instance
    save_backend = AtomicLocalBackend()  # save_checkpoint's own instance
    old = tmp_path / 'iter_1.pth'
    save_backend.put(b'1', old)
    hook_backend.remove(old)  # max_keep_ckpts=1, before saving iter 2
    assert old.exists()  # a kill now still leaves iter_1
    save_backend.put(b'2', tmp_path / 'iter_2.pth')
    assert not old.exists()
    assert (tmp_path / 'iter_2.pth').read_bytes() == b'2'
    # other files are removed at once
    (tmp_path / 'log.txt').write_text('x')
    hook_backend.remove(tmp_path / 'log.txt')
    assert not (tmp_path / 'log.txt').exists()


def test_checkpoint_hook_of_a_config_uses_the_backend():
    cfg = Config(dict(default_hooks=dict(checkpoint=dict(
        type='CheckpointHook', interval=1))))
    assert use_atomic_checkpoints(cfg)
    assert cfg.default_hooks.checkpoint.backend_args == dict(
        backend=ATOMIC_BACKEND)
    # a storage the config chose itself is left alone
    remote = Config(dict(default_hooks=dict(checkpoint=dict(
        type='CheckpointHook', backend_args=dict(backend='petrel')))))
    assert not use_atomic_checkpoints(remote)
    assert remote.default_hooks.checkpoint.backend_args == dict(
        backend='petrel')
    assert not use_atomic_checkpoints(Config(dict(default_hooks=dict())))


def test_torch_save_through_the_backend_loads(tmp_path):
    import io
    buffer = io.BytesIO()
    torch.save({'w': torch.ones(3)}, buffer)
    AtomicLocalBackend().put(buffer.getvalue(), tmp_path / 'a.pth')
    assert torch.equal(
        torch.load(tmp_path / 'a.pth', weights_only=True)['w'], torch.ones(3))
