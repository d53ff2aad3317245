"""One run per work dir: the lock of mmtat.engine.work_dir_lock between real
processes (held while the holder lives, gone when it is killed, not held by
its forked children), and temporary checkpoint files of one target that
two processes write at once."""
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap

import pytest

from mmtat.engine.atomic_io import (
    PARTIAL_SUFFIX,
    atomic_write,
    remove_partial_files,
)
from mmtat.engine.hooks import WorkDirLockHook
from mmtat.engine.work_dir_lock import (
    TRAIN_LOCK,
    WorkDirInUse,
    WorkDirLock,
    held_by_this_process,
    hold_work_dir,
    launcher_rank,
)

HOLDER = textwrap.dedent('''
    import os, sys, time
    from mmtat.engine.work_dir_lock import WorkDirLock
    lock = WorkDirLock(sys.argv[1], command='python tools/train.py X.py')
    lock.acquire()
    if len(sys.argv) > 2:  # a forked child (a data loader worker) lives on
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
    print('held', flush=True)
    time.sleep(60)
''')


def _hold(work_dir, fork=False):
    """A process that holds ``work_dir``'s lock; returns once it does."""
    proc = subprocess.Popen(
        [sys.executable, '-c', HOLDER, str(work_dir)] + (['fork'] if fork
                                                         else []),
        stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert proc.stdout.readline().strip() == 'held'
    return proc


def _kill(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # the whole group is gone already
    proc.wait(timeout=30)


def test_a_second_holder_is_refused_naming_the_first(tmp_path):
    proc = _hold(tmp_path)
    try:
        with pytest.raises(WorkDirInUse) as busy:
            WorkDirLock(str(tmp_path)).acquire()
        holder = json.loads((tmp_path / TRAIN_LOCK).read_text())
        assert holder['pid'] == proc.pid
        assert holder['host'] == socket.gethostname()
        message = str(busy.value)
        assert message.startswith(
            f'The work dir {tmp_path} is in use by another training run: '
            f'process {proc.pid} on host {socket.gethostname()}, started '
            f'{holder["started"]}, command: python tools/train.py X.py. '
            'Nothing was started')
        assert '--work-dir' in message and '--resume' in message
        assert f'kill {proc.pid}' in message and '\n' not in message
    finally:
        _kill(proc)


@pytest.mark.parametrize('fork', [False, True],
                         ids=['alone', 'with_a_forked_child'])
def test_kill_9_leaves_no_lock(tmp_path, fork):
    """The kernel drops the lock with the process: the next run (its
    --resume) takes it at once, also while a child the holder forked
    still lives."""
    proc = _hold(tmp_path, fork=fork)
    children = subprocess.run(['pgrep', '-g', str(proc.pid)],
                              capture_output=True, text=True).stdout.split()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    try:
        if fork:
            assert len(children) == 2  # the child is still there
        lock = WorkDirLock(str(tmp_path))
        lock.acquire()
        assert json.loads((tmp_path / TRAIN_LOCK).read_text())[
            'pid'] == os.getpid()
        lock.release()
        assert not (tmp_path / TRAIN_LOCK).exists()
    finally:
        _kill(proc)


def test_one_process_cannot_hold_it_twice(tmp_path):
    with WorkDirLock(str(tmp_path)):
        with pytest.raises(WorkDirInUse):
            WorkDirLock(str(tmp_path)).acquire()
    WorkDirLock(str(tmp_path)).acquire()


def test_a_refused_run_removes_the_folder_it_created(tmp_path):
    work_dir = tmp_path / 'new'
    with pytest.raises(ValueError):
        with hold_work_dir(str(work_dir)):
            assert (work_dir / TRAIN_LOCK).is_file()
            raise ValueError('refused')
    assert not work_dir.exists()
    # a folder that existed stays, without the lock file
    work_dir.mkdir()
    (work_dir / 'iter_1.pth').write_bytes(b'x')
    with pytest.raises(ValueError):
        with hold_work_dir(str(work_dir)):
            raise ValueError('refused')
    assert os.listdir(work_dir) == ['iter_1.pth']
    # other ranks do not take it
    with hold_work_dir(str(work_dir), enabled=False) as lock:
        assert not lock.held and not (work_dir / TRAIN_LOCK).exists()


def test_rank_before_the_process_group(monkeypatch):
    for name in ('RANK', 'SLURM_PROCID', 'OMPI_COMM_WORLD_RANK'):
        monkeypatch.delenv(name, raising=False)
    assert launcher_rank('none') == 0
    monkeypatch.setenv('SLURM_PROCID', '3')
    assert launcher_rank('slurm') == 3
    assert launcher_rank('pytorch') == 0
    monkeypatch.setenv('RANK', '1')
    assert launcher_rank('pytorch') == 1


class _Runner:
    """What WorkDirLockHook reads of a Runner."""

    def __init__(self, work_dir, rank=0):
        self.work_dir, self.rank = str(work_dir), rank


def test_the_hook_holds_the_work_dir_while_training(tmp_path):
    hook, runner = WorkDirLockHook(), _Runner(tmp_path)
    hook.before_train(runner)
    assert held_by_this_process(str(tmp_path))
    assert json.loads((tmp_path / TRAIN_LOCK).read_text())[
        'pid'] == os.getpid()
    hook.after_train(runner)
    assert not held_by_this_process(str(tmp_path))
    assert not (tmp_path / TRAIN_LOCK).exists()


def test_the_hook_stops_a_run_in_a_live_runs_work_dir(tmp_path):
    proc = _hold(tmp_path)
    try:
        with pytest.raises(WorkDirInUse,
                           match=f'in use by another training run: process '
                           f'{proc.pid} on host'):
            WorkDirLockHook().before_train(_Runner(tmp_path))
        # the other ranks leave it to rank 0
        WorkDirLockHook().before_train(_Runner(tmp_path, rank=1))
    finally:
        _kill(proc)


def test_the_hook_leaves_a_lock_this_process_holds(tmp_path):
    """mmtat's tools/train.py holds the work dir before the Runner exists;
    the config's hook must not refuse its own run."""
    with hold_work_dir(str(tmp_path)) as lock:
        hook = WorkDirLockHook()
        hook.before_train(_Runner(tmp_path))
        hook.after_train(_Runner(tmp_path))
        assert lock.held and held_by_this_process(str(tmp_path))
    assert not held_by_this_process(str(tmp_path))


WRITER = textwrap.dedent('''
    import sys
    from mmtat.engine.atomic_io import atomic_write
    data = sys.argv[2].encode() * 200000
    for _ in range(30):
        atomic_write(sys.argv[1], data)
    print('ok')
''')


def test_two_writers_of_one_target_never_break_each_others_rename(
        tmp_path):
    """Before, both wrote .iter_N.pth.mmtat-partial: one renamed the
    other's file away and the other's rename failed (FileNotFoundError)."""
    target = tmp_path / 'iter_2.pth'
    procs = [
        subprocess.Popen([sys.executable, '-c', WRITER, str(target), tag],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True) for tag in 'ab'
    ]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert target.read_bytes() in (b'a' * 200000, b'b' * 200000)
    assert os.listdir(tmp_path) == ['iter_2.pth']


def test_partial_files_of_a_live_writer_stay(tmp_path):
    """--resume's clean-up removes what dead runs left, not a file a live
    process (of a run started against the lock) is writing."""
    sleeper = subprocess.Popen([sys.executable, '-c',
                                'import time; time.sleep(60)'])
    try:
        host = socket.gethostname()
        live = tmp_path / f'.iter_3.pth.{host}.{sleeper.pid}{PARTIAL_SUFFIX}'
        live.write_bytes(b'x')
        dead_pid = subprocess.run([sys.executable, '-c', 'import os; '
                                   'print(os.getpid())'], capture_output=True,
                                  text=True).stdout.strip()
        dead = tmp_path / f'.iter_2.pth.{host}.{dead_pid}{PARTIAL_SUFFIX}'
        dead.write_bytes(b'x')
        old = tmp_path / f'.iter_1.pth{PARTIAL_SUFFIX}'  # an older version's
        old.write_bytes(b'x')
        elsewhere = tmp_path / f'.iter_1.pth.otherhost.1{PARTIAL_SUFFIX}'
        elsewhere.write_bytes(b'x')
        removed = remove_partial_files(str(tmp_path))
        assert sorted(removed) == sorted(map(str, [dead, old, elsewhere]))
        assert live.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert remove_partial_files(str(tmp_path)) == [str(live)]
    atomic_write(tmp_path / 'x', b'1')
    assert sorted(os.listdir(tmp_path)) == ['x']
