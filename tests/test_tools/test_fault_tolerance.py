"""tools/train.py survives being killed: SIGKILL at any moment (also while
a checkpoint is written) and ``--resume`` reaches the last iteration with a
complete checkpoint; SIGTERM saves the current iteration and stops cleanly,
also when it reaches every process of a two-process torchrun job
(``tools/dist_train.sh``) and torchrun's agent forwards its own after it.

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
    free_port,
    load_checkpoint,
    smoke_options,
    tool_env,
    train_iters_logged,
)

from mmtat.checks import latest_checkpoint
from mmtat.engine.atomic_io import PARTIAL_SUFFIX

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


def _job_processes(root: int) -> dict:
    """pid -> command line of ``root`` and all its descendants: the
    processes slurm signals on preemption (torchrun starts each worker in
    a session of its own, so the job's process group does not hold
    them)."""
    parents = {}
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open(f'/proc/{name}/stat') as f:
                # "pid (comm) state ppid ...": comm may hold spaces
                parents[int(name)] = int(f.read().rsplit(')', 1)[1].split()[1])
        except OSError:
            continue  # ended meanwhile
    job, todo = set(), [root]
    while todo:
        pid = todo.pop()
        job.add(pid)
        todo += [child for child, parent in parents.items()
                 if parent == pid and child not in job]
    found = {}
    for pid in job:
        try:
            with open(f'/proc/{pid}/cmdline', 'rb') as f:
                found[pid] = f.read().replace(b'\0', b' ').decode()
        except OSError:
            pass
    return found


def _start_dist(work_dir: str, data_root: str, log: str, resume: bool,
                max_iters: int, extra: List[str] = ()) -> subprocess.Popen:
    """tools/dist_train.sh with 2 gloo processes of the baseline at a 64x64
    crop (the shell, torchrun's agent, its workers and their data loader
    workers)."""
    opts = smoke_options('voc', data_root, distill=False,
                         max_iters=max_iters, crop=64)
    opts += ['default_hooks.checkpoint.interval=1000',
             'train_dataloader.num_workers=1',
             'env_cfg.dist_cfg.backend=gloo'] + list(extra)
    # SyncBN needs GPUs under DDP
    opts += [f'model.{part}.norm_cfg.type=BN'
             for part in ('backbone', 'decode_head', 'auxiliary_head')]
    cmd = ['bash', 'tools/dist_train.sh', BASELINE_VOC, '2', '--work-dir',
           work_dir] + (['--resume'] if resume else []) + ['--cfg-options'
                                                           ] + opts
    env = tool_env(PORT=str(free_port()), PYTHON=sys.executable)
    with open(log, 'w') as out:
        return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out,
                                stderr=subprocess.STDOUT,
                                start_new_session=True)


def test_sigterm_to_a_torchrun_job_saves_on_every_rank_and_resumes(
        synthetic_data, tmp_path):
    data = synthetic_data['voc']
    work_dir = str(tmp_path / 'work')
    log = str(tmp_path / 'run1.log')
    proc = _start_dist(work_dir, data, log, resume=False, max_iters=50)
    assert _wait_for(proc, lambda: 2 in train_iters_logged(_read(log)))
    # slurm's SIGTERM reaches every process of the job; torchrun's agent
    # forwards the one it gets to its workers.  Here the agent gets its
    # SIGTERM once the workers acted on theirs, so that the forward comes
    # while they save (signalled at the same moment, two SIGTERMs often
    # reach a worker before its handler runs and count as one).
    group = _job_processes(proc.pid)
    agents = [pid for pid, args in group.items()
              if 'tools/launch.py' in args]
    assert len(agents) == 1, group
    for pid in group:
        if pid != agents[0]:
            os.kill(pid, signal.SIGTERM)
    assert _wait_for(proc, lambda: 'SIGTERM: saving a checkpoint of '
                     'iteration' in _read(log))
    os.kill(agents[0], signal.SIGTERM)
    assert proc.wait(timeout=WAIT_S) == 143, _read(log)[-3000:]
    out = _read(log)
    # the agent forwarded the job's SIGTERM to both workers ...
    assert len(re.findall(r'Sending process \d+ closing signal SIGTERM',
                          out)) == 2
    # ... and both still stopped after the same iteration, with its
    # checkpoint, and exited with 143 (no worker died of the second signal)
    stops = re.findall(r'Stopped by SIGTERM after iteration (\d+); '
                       r'checkpoint (\S+)\. Continue with the same command '
                       r'and --resume\. \(rank (\d) of 2\)', out)
    assert sorted(rank for _, _, rank in stops) == ['0', '1'], out[-3000:]
    assert len({(it, ckpt) for it, ckpt, _ in stops}) == 1
    stopped, ckpt = int(stops[0][0]), stops[0][1]
    assert stopped >= 2 and max(train_iters_logged(out)) == stopped
    assert ckpt == osp.join(work_dir, f'iter_{stopped}.pth')
    assert load_checkpoint(ckpt)['meta']['iter'] == stopped
    assert open(osp.join(work_dir, 'last_checkpoint')).read() == ckpt
    assert 'exitcode  : -15' not in out  # torchrun's report of a kill
    # torchrun's agent ends in one line, not its SignalException traceback
    assert 'Traceback' not in out and 'SignalException' not in out
    assert out.count('torchrun: stopped by SIGTERM; its workers were asked '
                     'to stop') == 1
    assert 'tools/dist_train.sh: stopped by SIGTERM' in out

    # the requeued job continues there, with two processes again
    log = str(tmp_path / 'run2.log')
    proc = _start_dist(work_dir, data, log, resume=True,
                       max_iters=stopped + 1)
    assert proc.wait(timeout=WAIT_S) == 0, _read(log)[-3000:]
    out = _read(log)
    assert f'resumed epoch: 0, iter: {stopped}' in out
    assert train_iters_logged(out) == [stopped + 1]
    final = osp.join(work_dir, f'iter_{stopped + 1}.pth')
    assert load_checkpoint(final)['meta']['iter'] == stopped + 1
