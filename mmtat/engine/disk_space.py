"""A full disk as one paragraph: which file, how much space is left, what a
checkpoint of the run needs, which checkpoint is intact and how to go on.

A write that runs out of space (``ENOSPC``, or ``EDQUOT`` for a quota)
raises ``OSError`` somewhere in mmengine (the visualizer's
``scalars.json``), in ``logging`` (which only prints a "Logging error"
traceback and goes on) or in :func:`~mmtat.engine.atomic_io.atomic_write`
(checkpoints, ``last_checkpoint``, ``done.json``), which removes its
temporary file and raises :class:`DiskFullError`.  :func:`raise_on_full_log`
makes the log file's handler raise too, and the tools turn the error into
:func:`disk_full_paragraph`.
"""
import errno
import io
import logging
import os
import os.path as osp
import shutil
import sys
from typing import Any, Optional

__all__ = [
    'NO_SPACE_ERRNOS', 'DiskFullError', 'is_disk_full', 'file_being_written',
    'raise_on_full_log', 'disk_full_paragraph', 'human_size'
]

#: errno values of a write that found no space: the disk, or the quota
NO_SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


class DiskFullError(OSError):
    """A file could not be written for lack of space.

    Attributes:
        filename: the file (the target, not its temporary file).
        needed: the bytes that were to be written (None if unknown).
    """

    def __init__(self, path: str, needed: Optional[int] = None,
                 code: int = errno.ENOSPC) -> None:
        super().__init__(code, os.strerror(code), path)
        self.needed = needed


def is_disk_full(err: BaseException) -> bool:
    """Whether ``err`` (or what caused it) is a write that found no
    space."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, OSError) and err.errno in NO_SPACE_ERRNOS:
            return True
        err = err.__cause__ or err.__context__
    return False


def _no_space_error(err: BaseException) -> Optional[OSError]:
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, OSError) and err.errno in NO_SPACE_ERRNOS:
            return err
        err = err.__cause__ or err.__context__
    return None


def file_being_written(err: BaseException) -> Optional[str]:
    """The file whose write failed: the error's own ``filename``, else the
    innermost open file object of the traceback (``f`` of ``with open(...)
    as f: f.write(...)``)."""
    found = _no_space_error(err) or err
    if getattr(found, 'filename', None):
        return str(found.filename)
    tb = found.__traceback__
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):
        for value in list(frame.f_locals.values()):
            name = getattr(value, 'name', None)
            if isinstance(value, io.IOBase) and isinstance(name, str):
                return name
            base = getattr(value, 'baseFilename', None)
            if isinstance(value, logging.Handler) and isinstance(base, str):
                return base
    return None


def raise_on_full_log(logger: Any) -> None:
    """Make ``logger``'s file handlers raise :class:`DiskFullError` when
    the disk is full (``logging`` prints a traceback and goes on)."""
    for handler in getattr(logger, 'handlers', []):
        if not isinstance(handler, logging.FileHandler) or getattr(
                handler, '_mmtat_raises_on_full_disk', False):
            continue

        def handle_error(record: logging.LogRecord,
                         handler: logging.FileHandler = handler,
                         original: Any = handler.handleError) -> None:
            err = sys.exc_info()[1]
            if err is not None and is_disk_full(err):
                raise DiskFullError(handler.baseFilename,
                                    code=_no_space_error(err).errno) from err
            original(record)

        handler.handleError = handle_error
        handler._mmtat_raises_on_full_disk = True


def human_size(size: Optional[float]) -> str:
    if size is None:
        return 'an unknown size'
    for unit in ('bytes', 'KB', 'MB', 'GB'):
        if size < 1024 or unit == 'GB':
            return (f'{size:.0f} {unit}' if unit == 'bytes' else
                    f'{size:.1f} {unit}')
        size /= 1024
    return f'{size:.1f} TB'


def _free(path: str) -> Optional[int]:
    directory = path
    while directory and not osp.isdir(directory):
        directory = osp.dirname(directory)
    try:
        return shutil.disk_usage(directory or '.').free
    except OSError:
        return None


def disk_full_paragraph(err: BaseException,
                        work_dir: str,
                        resume: str,
                        checkpoint: Optional[str] = None,
                        checkpoint_size: Optional[int] = None,
                        what: str = 'The run') -> str:
    """The paragraph a tool prints for a write that found no space.

    Args:
        err: the error.
        work_dir: the run's work dir.
        resume: how to go on once there is space (a command, or a clause).
        checkpoint: the newest complete checkpoint (None: there is none).
        checkpoint_size: what a checkpoint of this run needs in bytes;
            when None, the size of the failed write of a checkpoint, else
            of ``checkpoint``.
        what: the subject (``The run``, ``tools/reproduce.py``).
    """
    path = file_being_written(err) or f'a file under {work_dir}'
    found = _no_space_error(err)
    reason = 'its disk quota is used up' if (
        found is not None and found.errno == errno.EDQUOT) else \
        'no space left on device'
    if checkpoint_size is None and path.endswith('.pth'):
        checkpoint_size = getattr(err, 'needed', None)
    if checkpoint_size is None and checkpoint is not None:
        try:
            checkpoint_size = osp.getsize(checkpoint)
        except OSError:
            pass
    free = _free(path if osp.isabs(path) else osp.abspath(path))
    text = (f'{what} stopped: writing {path} failed ({reason}); '
            f'{human_size(free)} are free there, and a checkpoint of this '
            f'run needs {human_size(checkpoint_size)}.')
    if checkpoint is not None:
        text += (f' The newest complete checkpoint, {checkpoint}, is intact '
                 '(nothing half-written was left in its place).')
    else:
        text += ' No checkpoint of this run was written before.'
    text += (' Free space on that file system (or give the run another '
             f'--work-dir), then continue: {resume}')
    return text
