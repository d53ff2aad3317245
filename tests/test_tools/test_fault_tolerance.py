"""tools/train.py survives being killed: SIGKILL at any moment (also while
a checkpoint is written) and ``--resume`` reaches the last iteration with a
complete checkpoint; SIGTERM saves the current iteration and stops cleanly.

Subprocesses on generated data, the student-only baseline (the cheapest
config), a checkpoint every iteration.  Kills are triggered by what the run
shows (its log, a partial checkpoint file), never by wall-clock time; each
wait is bounded.
"""
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import time
from typing import Callable, List

from tool_utils import (
    BASELINE_VOC,
    REPO,
    load_checkpoint,
    smoke_options,
    tool_env,
    train_iters_logged,
)

from mmtat.engine.atomic_io import PARTIAL_SUFFIX
from mmtat.utils import latest_checkpoint

MAX_ITERS = 5
WAIT_S = 300  # upper bound of any single wait (a loaded CI machine)


def _start(work_dir: str, data_root: str, log: str, resume: bool,
           max_iters: int = MAX_ITERS,
           extra: List[str] = ()) -> subprocess.Popen:
    opts = smoke_options('voc', data_root, distill=False,
                         max_iters=max_iters)
    opts += ['default_hooks.checkpoint.interval=1'] + list(extra)
    cmd = [sys.executable, 'tools/train.py', BASELINE_VOC, '--work-dir',
           work_dir] + (['--resume'] if resume else []) + ['--cfg-options'
                                                           ] + opts
    with open(log, 'w') as out:
        # its own process group: signals reach the data loader workers too,
        # as slurm signals every process of a job
        return subprocess.Popen(cmd, cwd=REPO, env=tool_env(), stdout=out,
                                stderr=subprocess.STDOUT,
                                start_new_session=True)


def _wait_for(proc: subprocess.Popen, condition: Callable[[], bool]) -> bool:
    """Poll ``condition`` until it holds (True) or the run ends (False)."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if condition():
            return True
        if proc.poll() is not None:
            return condition()
        time.sleep(0.002)
    proc.kill()
    raise AssertionError('the run neither got there nor ended')


def _read(log: str) -> str:
    with open(log) as f:
        return f.read()


def _partial_files(work_dir: str) -> List[str]:
    if not osp.isdir(work_dir):
        return []
    return [n for n in os.listdir(work_dir) if n.endswith(PARTIAL_SUFFIX)]


def _kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)


def _assert_resumable(work_dir: str) -> int:
    """The state a kill left: what --resume would continue from."""
    path, _ = latest_checkpoint(work_dir)
    if path is None:
        return 0
    return load_checkpoint(path)['meta']['iter']


def test_sigkill_anywhere_then_resume_finishes(synthetic_data, tmp_path):
    data = synthetic_data['voc']
    work_dir = str(tmp_path / 'work')
    done = 0  # iterations covered by a complete checkpoint
    kills = []

    # 1. in the middle of training (after iteration 2 was logged)
    log = str(tmp_path / 'run1.log')
    proc = _start(work_dir, data, log, resume=False)
    assert _wait_for(proc, lambda: 2 in train_iters_logged(_read(log)))
    _kill(proc)
    kills.append('training')
    done = _assert_resumable(work_dir)
    assert done >= 1  # iteration 1's checkpoint at least

    # 2. while a checkpoint is being written: SIGKILL as soon as the
    # partial file appears; if the write won the race, the next one
    for attempt in range(3):
        log = str(tmp_path / f'run2_{attempt}.log')
        proc = _start(work_dir, data, log, resume=True)
        seen = _wait_for(proc, lambda: bool(_partial_files(work_dir)))
        assert seen, _read(log)[-3000:]
        _kill(proc)
        resumed_from = done
        done = _assert_resumable(work_dir)
        assert done >= resumed_from  # nothing complete was lost
        if _partial_files(work_dir):
            kills.append('checkpoint write')
            break
    assert kills[-1] == 'checkpoint write', 'never killed inside a write'
    # last_checkpoint still names a complete file: the partial one is only
    # renamed into place once it is complete
    pointer = open(osp.join(work_dir, 'last_checkpoint')).read().strip()
    assert load_checkpoint(pointer)['meta']['iter'] == done

    # 3. resumed to the end
    log = str(tmp_path / 'run3.log')
    proc = _start(work_dir, data, log, resume=True)
    assert proc.wait(timeout=WAIT_S) == 0, _read(log)[-3000:]
    out = _read(log)
    assert 'Traceback' not in out
    assert f'resumed epoch: 0, iter: {done}' in out
    assert train_iters_logged(out) == list(range(done + 1, MAX_ITERS + 1))
    final = osp.join(work_dir, f'iter_{MAX_ITERS}.pth')
    assert load_checkpoint(final)['meta']['iter'] == MAX_ITERS
    assert open(osp.join(work_dir,
                         'last_checkpoint')).read().strip() == final
    assert not _partial_files(work_dir)  # the killed write was cleaned up
    assert kills == ['training', 'checkpoint write']


def test_sigterm_saves_and_requeued_run_continues(synthetic_data, tmp_path):
    data = synthetic_data['voc']
    work_dir = str(tmp_path / 'work')
    log = str(tmp_path / 'run1.log')
    # no periodic checkpoint, one data loader worker (it gets SIGTERM too)
    extra = ['default_hooks.checkpoint.interval=1000',
             'train_dataloader.num_workers=1']
    proc = _start(work_dir, data, log, resume=False, max_iters=50,
                  extra=extra)
    assert _wait_for(proc, lambda: 2 in train_iters_logged(_read(log)))
    os.killpg(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=WAIT_S) == 143
    out = _read(log)
    assert 'Traceback' not in out
    match = re.search(r'Stopped by SIGTERM after iteration (\d+); '
                      r'checkpoint (\S+)\. Continue with the same command '
                      r'and --resume\.', out)
    assert match, out[-3000:]
    stopped = int(match.group(1))
    assert stopped >= 2 and max(train_iters_logged(out)) == stopped
    ckpt = osp.join(work_dir, f'iter_{stopped}.pth')
    assert match.group(2) == ckpt
    assert load_checkpoint(ckpt)['meta']['iter'] == stopped
    assert open(osp.join(work_dir, 'last_checkpoint')).read() == ckpt

    # the requeued job: same command with --resume, continues there
    log = str(tmp_path / 'run2.log')
    proc = _start(work_dir, data, log, resume=True, max_iters=stopped + 1,
                  extra=extra)
    assert proc.wait(timeout=WAIT_S) == 0, _read(log)[-3000:]
    assert train_iters_logged(_read(log)) == [stopped + 1]
