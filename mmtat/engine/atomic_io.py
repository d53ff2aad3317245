"""Checkpoint files that are never seen half-written.

mmengine's ``LocalBackend.put`` opens the checkpoint path and writes into
it, so a run killed while saving leaves a truncated ``iter_N.pth``;
``CheckpointHook`` also deletes the checkpoint that falls out of
``max_keep_ckpts`` *before* writing the new one.  :class:`AtomicLocalBackend`
is that backend with two changes:

* ``put`` / ``put_text`` write ``.<name>.<host>.<pid>.mmtat-partial`` next
  to the target, flush it to disk and rename it over the target (atomic on
  POSIX file systems), so the target is either the old or the complete new
  file, and two processes writing one target never rename each other's
  temporary file;
* ``remove`` of a checkpoint (``*.pth``) is deferred until the next
  checkpoint has been written completely, so a kill in between leaves the
  old one.

``tools/train.py`` selects it through the checkpoint hook's
``backend_args`` (:func:`use_atomic_checkpoints`); installed mmengine files
are not touched.  A partial file left by a kill is removed by
:func:`remove_partial_files` when the run resumes.
"""
import contextlib
import os
import os.path as osp
import socket
from pathlib import Path
from typing import Any, List, Union

from mmengine.fileio import LocalBackend, register_backend

from .disk_space import NO_SPACE_ERRNOS, DiskFullError

__all__ = [
    'AtomicLocalBackend', 'ATOMIC_BACKEND', 'PARTIAL_SUFFIX',
    'atomic_write', 'use_atomic_checkpoints', 'remove_partial_files'
]

ATOMIC_BACKEND = 'mmtat_atomic_local'
PARTIAL_SUFFIX = '.mmtat-partial'
_HOST = socket.gethostname().replace(os.sep, '_')


def _partial_path(path: str) -> str:
    # unique per process: two writers of one target (runs that share a work
    # dir against the lock, or the ranks of a job) never rename each
    # other's file
    return osp.join(osp.dirname(path), f'.{osp.basename(path)}.'
                    f'{_HOST}.{os.getpid()}{PARTIAL_SUFFIX}')


def _writer_alive(name: str) -> bool:
    """Whether the partial file ``name`` is being written by a live
    process of this host."""
    stem = name[:-len(PARTIAL_SUFFIX)]
    host_pid = stem.rsplit('.', 2)
    if len(host_pid) != 3 or host_pid[1] != _HOST or \
            not host_pid[2].isdigit():
        return False
    pid = int(host_pid[2])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # not supported here (e.g. some network file systems)
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: Union[str, Path], data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename.

    Raises:
        DiskFullError: (an ``OSError``) when the disk is full; the
            temporary file is removed and ``path`` is as it was.
    """
    path = str(path)
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    partial = _partial_path(osp.abspath(path))
    try:
        with open(partial, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except OSError as err:
        # e.g. a full disk: the target keeps its old content, and the
        # partial file is not left to take the space
        with contextlib.suppress(OSError):
            os.remove(partial)
        if err.errno in NO_SPACE_ERRNOS:
            raise DiskFullError(path, needed=len(data),
                                code=err.errno) from err
        raise
    os.replace(partial, path)
    # the rename itself must reach the disk before the old file is dropped
    _fsync_dir(directory)


class AtomicLocalBackend(LocalBackend):
    """``LocalBackend`` whose writes are atomic and whose removal of a
    checkpoint waits for the next complete checkpoint."""

    # CheckpointHook removes through its own backend instance and
    # save_checkpoint writes through a new one: the queue is shared.
    _deferred: List[str] = []

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        atomic_write(filepath, obj)
        if str(filepath).endswith('.pth'):
            self._remove_deferred(str(filepath))

    def put_text(self, obj: str, filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        atomic_write(filepath, obj.encode(encoding))

    def remove(self, filepath: Union[str, Path]) -> None:
        if str(filepath).endswith('.pth') and osp.isfile(filepath):
            AtomicLocalBackend._deferred.append(str(filepath))
            return
        super().remove(filepath)

    def _remove_deferred(self, written: str) -> None:
        pending, AtomicLocalBackend._deferred[:] = \
            list(AtomicLocalBackend._deferred), []
        for path in pending:
            if osp.abspath(path) != osp.abspath(written) and osp.isfile(path):
                os.remove(path)


register_backend(ATOMIC_BACKEND, AtomicLocalBackend, force=True)


def use_atomic_checkpoints(cfg: Any) -> bool:
    """Make the config's ``CheckpointHook`` write through
    :class:`AtomicLocalBackend`.

    Left alone (False) when the config has no checkpoint hook or already
    names a storage backend (e.g. a remote one), which has its own rules.
    """
    hooks = cfg.get('default_hooks') or {}
    hook = hooks.get('checkpoint')
    if not hook:
        return False
    if hook.get('backend_args') or hook.get('file_client_args'):
        return False
    if '://' in str(hook.get('out_dir') or ''):
        return False
    hook['backend_args'] = dict(backend=ATOMIC_BACKEND)
    return True


def remove_partial_files(directory: str) -> List[str]:
    """Delete the partial files a killed run left in ``directory`` (those
    of a live process of this host are being written: they stay)."""
    removed = []
    if not osp.isdir(directory):
        return removed
    for name in os.listdir(directory):
        if (name.startswith('.') and name.endswith(PARTIAL_SUFFIX)
                and not _writer_alive(name)):
            path = osp.join(directory, name)
            if osp.isfile(path):
                os.remove(path)
                removed.append(path)
    return removed
