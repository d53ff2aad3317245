"""One run per work dir: a lock that the operating system releases when its
process ends.

Two training runs in one work dir write the same checkpoint names, the same
``last_checkpoint`` and interleaved logs; one ``--resume`` may delete the
other's checkpoint in progress.  :class:`WorkDirLock` holds an exclusive
``flock`` on a file of the work dir (:data:`TRAIN_LOCK`) for as long as
the run lives: the kernel drops it when the process ends in any way
(``kill -9`` included), so a dead run never blocks the next one or its
``--resume``.  The holder writes its process id, host, start time and
command line into the file; a second run that finds the lock taken stops
with :class:`WorkDirInUse`, a paragraph naming that run and the two ways
out.

Processes forked by the holder (data loader workers) do not hold the lock:
its descriptor is closed in them, so a worker that outlives a killed
trainer for a moment does not keep the work dir locked.  On NFS, Linux
implements ``flock`` with the server's byte-range locks, so runs on
different hosts exclude each other too.
"""
import contextlib
import errno
import fcntl
import json
import os
import os.path as osp
import shlex
import socket
import sys
import time
from typing import Any, Dict, Iterator, List, Optional

from ..utils.errors import InputError

__all__ = [
    'TRAIN_LOCK', 'WorkDirInUse', 'WorkDirLock', 'hold_work_dir',
    'held_by_this_process', 'launcher_rank', 'current_command'
]

#: The lock file of a training run, in its work dir.
TRAIN_LOCK = '.mmtat-train.lock'

_HELD: Dict[int, str] = {}  # descriptor -> lock file, of this process
_AT_FORK = {'registered': False}


def _close_in_child() -> None:
    for fd in list(_HELD):
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD.clear()


def held_by_this_process(work_dir: str, name: str = TRAIN_LOCK) -> bool:
    """Whether this process holds ``<work_dir>/<name>`` (a second
    ``flock`` of it from this process would be refused like another
    process's)."""
    path = osp.realpath(osp.join(work_dir, name))
    return any(osp.realpath(held) == path for held in _HELD.values())


class WorkDirInUse(InputError):
    """The work dir is held by another live run."""

    def __init__(self, message: str, holder: Dict[str, Any]) -> None:
        self.holder = holder
        super().__init__(message)


def current_command(argv: Optional[List[str]] = None,
                    module: Optional[str] = None) -> str:
    """This process's command line (``argv`` of a tool's ``main(argv)``
    called from Python, as ``python -m MODULE ARGV``)."""
    if argv is not None and module is not None:
        return shlex.join([sys.executable, '-m', module] + list(argv))
    return shlex.join(getattr(sys, 'orig_argv', None) or
                      [sys.executable] + sys.argv)


def launcher_rank(launcher: Optional[str]) -> int:
    """This process's global rank before the process group exists (0 when
    not distributed): torchrun's ``RANK``, slurm's ``SLURM_PROCID``,
    Open MPI's ``OMPI_COMM_WORLD_RANK``."""
    names = {
        'slurm': ('SLURM_PROCID', ),
        'mpi': ('OMPI_COMM_WORLD_RANK', 'PMI_RANK'),
    }.get(launcher or 'none', ())
    for name in ('RANK', ) + names:
        if os.environ.get(name, '').isdigit():
            return int(os.environ[name])
    return 0


def _read_holder(path: str) -> Dict[str, Any]:
    # the holder writes its details right after it takes the lock
    for _ in range(20):
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            return {}
        if text.strip():
            try:
                return json.loads(text)
            except ValueError:
                pass
        time.sleep(0.05)
    return {}


def describe_holder(holder: Dict[str, Any]) -> str:
    """``process 123 on host h, started ..., command: ...``."""
    if not holder:
        return 'a process that has not written its details yet'
    text = (f'process {holder.get("pid")} on host {holder.get("host")}, '
            f'started {holder.get("started")}')
    if holder.get('command'):
        text += f', command: {holder["command"]}'
    return text


class WorkDirLock:
    """An exclusive lock on ``<work_dir>/<name>`` for this process.

    Args:
        work_dir: the folder (created if needed).
        name: the lock file's name.
        command: the command line written into the lock file.
        what: what holds it, for messages (``training run``).
    """

    def __init__(self, work_dir: str, name: str = TRAIN_LOCK,
                 command: Optional[str] = None,
                 what: str = 'training run') -> None:
        self.work_dir = work_dir
        self.path = osp.join(work_dir, name)
        self.command = command if command is not None else current_command()
        self.what = what
        self._fd: Optional[int] = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def holder(self) -> Dict[str, Any]:
        """What the lock file says of its holder ({} if nothing)."""
        return _read_holder(self.path)

    def try_acquire(self) -> bool:
        """Take the lock; False if another process holds it."""
        if self._fd is not None:
            return True
        os.makedirs(self.work_dir, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                         0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as err:
                os.close(fd)
                if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN,
                                 errno.EACCES):
                    return False
                raise
            # a holder that ended removed the file after this one opened
            # it: the lock is on a file nobody else sees; take the new one
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        holder = dict(pid=os.getpid(), host=socket.gethostname(),
                      started=time.strftime('%Y-%m-%d %H:%M:%S %Z'),
                      command=self.command, what=self.what)
        os.ftruncate(fd, 0)
        os.write(fd, (json.dumps(holder) + '\n').encode())
        self._fd = fd
        _HELD[fd] = self.path
        if not _AT_FORK['registered']:
            os.register_at_fork(after_in_child=_close_in_child)
            _AT_FORK['registered'] = True
        return True

    def acquire(self) -> None:
        """Take the lock or raise :class:`WorkDirInUse`."""
        if self.try_acquire():
            return
        holder = self.holder()
        raise WorkDirInUse(
            f'The work dir {osp.abspath(self.work_dir)} is in use by another '
            f'{holder.get("what") or self.what}: {describe_holder(holder)}. '
            'Nothing was started: two runs in one work dir would overwrite '
            'each other\'s checkpoints and logs. Give this run a work dir of '
            'its own (--work-dir), or wait for that run to end (or stop it '
            '- kill ' + str(holder.get('pid', 'PID')) + ' on ' +
            str(holder.get('host', 'its host')) + ', which saves a '
            'checkpoint first) and continue it with --resume.', holder)

    def release(self) -> None:
        """Give the lock up (the file is removed while still held)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        _HELD.pop(fd, None)
        try:
            os.remove(self.path)
        except OSError:
            pass
        os.close(fd)

    def __enter__(self) -> 'WorkDirLock':
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


@contextlib.contextmanager
def hold_work_dir(work_dir: str, enabled: bool = True,
                  command: Optional[str] = None) -> Iterator[WorkDirLock]:
    """Hold ``work_dir`` for a training run (:class:`WorkDirLock`), and give
    it back when the block ends.  A work dir created for the lock is
    removed again if the block ends in an exception and left it empty (a
    run refused before it wrote anything).

    Args:
        enabled: False for the ranks other than 0 of a distributed run
            (rank 0 holds it for the run).
    """
    lock = WorkDirLock(work_dir, command=command)
    if not enabled:
        yield lock
        return
    created = not osp.isdir(work_dir)
    lock.acquire()
    try:
        yield lock
    except BaseException:
        lock.release()
        if created:
            with contextlib.suppress(OSError):
                os.rmdir(work_dir)
        raise
    lock.release()
