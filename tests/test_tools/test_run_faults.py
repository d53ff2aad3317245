"""The faults of a training run end in one paragraph and a non-zero exit
status, with nothing lost and ``--resume`` continuing: a loss that becomes
NaN (one process and a two-process torchrun job), a second run started in
the work dir of a live one (and a second tools/reproduce.py of one table),
a disk that fills up (a small tmpfs, where this machine lets the tests
mount one).  Real processes on generated data."""
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from test_fault_tolerance import (
    WAIT_S,
    _kill,
    _read,
    _start,
    _start_dist,
    _wait_for,
)
from tool_utils import (
    REPO,
    TAT_VOC,
    load_checkpoint,
    run_tool,
    smoke_options,
    tool_env,
    train_iters_logged,
)

from mmtat.checks import latest_checkpoint

DIVERGED = re.compile(
    r'Training diverged at iteration (\d+)( \(rank (\d) of 2(; rank \d '
    r'too)?\))?: ')


def _finite(path: str) -> bool:
    state = load_checkpoint(path)['state_dict']
    return all(torch.isfinite(v).all() for v in state.values()
               if v.is_floating_point())


# --------------------------------------------------------------------------
# a loss that becomes NaN
# --------------------------------------------------------------------------
def test_a_nan_loss_stops_the_tat_run(synthetic_data, tmp_path):
    """The learning rate far too high: before, every loss from iteration 2
    on was NaN, exit 0, and last_checkpoint named NaN weights."""
    work_dir = str(tmp_path)
    opts = smoke_options('voc', synthetic_data['voc'], max_iters=4) + [
        'default_hooks.checkpoint.interval=1',
        'optim_wrapper.optimizer.lr=1e12'
    ]
    proc = run_tool(['tools/train.py', TAT_VOC, '--work-dir', work_dir,
                     '--cfg-options'] + opts)
    out = proc.stdout
    assert proc.returncode == 1, out[-3000:]
    assert 'Traceback' not in out
    [message] = [line for line in out.splitlines()
                 if line.startswith('ERROR: ')]
    iteration = int(DIVERGED.search(message).group(1))
    assert iteration == 2
    # every loss term with its value, the learning rate, the checkpoint
    for term in ('student.decode.loss_ce', 'student.aux.loss_ce',
                 'distill.loss_tat_bottleneck'):
        assert re.search(rf'{re.escape(term)}: (nan|inf|-?[\d.e+-]+)',
                         message), term
    assert re.search(r'learning rate 1e\+12\.', message)
    good = osp.join(work_dir, 'iter_1.pth')
    assert (f'No checkpoint of this state was written; the newest one, '
            f'{good}, is from before it.') in message
    assert f'--cfg-options load_from={good}' in message
    # the diverged iteration was neither logged nor saved
    assert train_iters_logged(out) == [1]
    assert not osp.exists(osp.join(work_dir, 'iter_2.pth'))
    assert open(osp.join(work_dir, 'last_checkpoint')).read() == good
    assert _finite(good)


def test_a_nan_loss_stops_every_rank_of_a_torchrun_job(synthetic_data,
                                                       tmp_path):
    """Both ranks stop after the same iteration, each with its paragraph;
    torchrun ends in one line per rank, no traceback."""
    work_dir = str(tmp_path / 'work')
    log = str(tmp_path / 'run.log')
    proc = _start_dist(work_dir, synthetic_data['voc'], log, resume=False,
                       max_iters=5, extra=[
                           'default_hooks.checkpoint.interval=1',
                           'optim_wrapper.optimizer.lr=1e12'])
    assert proc.wait(timeout=WAIT_S) == 1, _read(log)[-4000:]
    out = _read(log)
    assert 'Traceback' not in out
    stops = [DIVERGED.search(line) for line in out.splitlines()
             if line.startswith('ERROR: Training diverged')]
    assert sorted(m.group(3) for m in stops) == ['0', '1'], out[-4000:]
    assert len({m.group(1) for m in stops}) == 1
    stopped = int(stops[0].group(1))
    # the one that ends second may be in its interpreter's shut-down when
    # torchrun stops it (after the first one's exit): killed by SIGTERM
    assert len(re.findall(r'torchrun: rank \d \(pid \d+\) (exited with '
                          r'status 1|was killed by SIGTERM); its own message '
                          r'is above\.', out)) == 2
    path, _ = latest_checkpoint(work_dir)
    assert path == osp.join(work_dir, f'iter_{stopped - 1}.pth')
    assert not osp.exists(osp.join(work_dir, f'iter_{stopped}.pth'))
    assert _finite(path)


# --------------------------------------------------------------------------
# one run per work dir
# --------------------------------------------------------------------------
def test_a_second_run_in_a_live_runs_work_dir_stops_at_once(
        synthetic_data, tmp_path):
    """Before, both ran and wrote the same files: one died on a rename,
    the other finished on a mixed history."""
    data = synthetic_data['voc']
    work_dir = str(tmp_path / 'work')
    first = _start(work_dir, data, str(tmp_path / 'first.log'),
                   resume=False, max_iters=50)
    try:
        assert _wait_for(first, lambda: 2 in train_iters_logged(
            _read(str(tmp_path / 'first.log'))))
        logs_before = sorted(os.listdir(work_dir))
        second = _start(work_dir, data, str(tmp_path / 'second.log'),
                        resume=True, max_iters=50)
        assert second.wait(timeout=WAIT_S) == 1
        out = _read(str(tmp_path / 'second.log'))
        assert 'Traceback' not in out
        [message] = [line for line in out.splitlines()
                     if line.startswith('ERROR: ')]
        assert message.startswith(
            f'ERROR: The work dir {work_dir} is in use by another training '
            f'run: process {first.pid} on host ')
        assert 'tools/train.py configs/baselines/deeplabv3_r18_voc.py ' \
            f'--work-dir {work_dir}' in message
        assert '--work-dir' in message and 'continue it with --resume' in \
            message
        # it built nothing (no log folder of its own) and removed nothing
        assert set(os.listdir(work_dir)) >= set(logs_before) - {
            n for n in logs_before if n.endswith('.pth')}
        assert len([n for n in os.listdir(work_dir)
                    if re.fullmatch(r'\d{8}_\d{6}', n)]) == 1
        assert first.poll() is None  # the first one trains on
    finally:
        # kill -9: the lock goes with the process
        _kill(first)
    done = latest_checkpoint(work_dir)[0]
    third = _start(work_dir, data, str(tmp_path / 'third.log'),
                   resume=True, max_iters=load_checkpoint(done)['meta']
                   ['iter'] + 1)
    assert third.wait(timeout=WAIT_S) == 0, _read(
        str(tmp_path / 'third.log'))[-3000:]


def test_a_second_reproduce_of_a_table_waits_for_the_first(tmp_path):
    """It never trains a run the first one holds; it says so, and skips
    what the first one finished."""
    args = [sys.executable, 'tools/reproduce.py', 'camvid', '--dry-run',
            '--work-dir', str(tmp_path), '--poll', '0.2', '--only',
            'deeplabv3_r18_camvid']
    logs = [str(tmp_path / f'reproduce_{i}.log') for i in (1, 2)]
    with open(logs[0], 'w') as out:
        first = subprocess.Popen(args, cwd=REPO, env=tool_env(), stdout=out,
                                 stderr=subprocess.STDOUT,
                                 start_new_session=True)
    try:
        assert _wait_for(first, lambda: 'starting deeplabv3_r18_camvid'
                         in _read(logs[0]))
        with open(logs[1], 'w') as out:
            second = subprocess.Popen(args, cwd=REPO, env=tool_env(),
                                      stdout=out, stderr=subprocess.STDOUT,
                                      start_new_session=True)
        assert second.wait(timeout=WAIT_S) == 0, _read(logs[1])[-3000:]
        assert first.wait(timeout=WAIT_S) == 0, _read(logs[0])[-3000:]
    finally:
        for proc in (first, ):
            if proc.poll() is None:
                _kill(proc)
    out = _read(logs[1])
    assert re.search(r'\[wait\] deeplabv3_r18_camvid: run by another '
                     rf'tools/reproduce.py \(process {first.pid} on host ',
                     out), out
    assert 'skip deeplabv3_r18_camvid: finished by another ' \
        'tools/reproduce.py' in out
    assert 'starting deeplabv3_r18_camvid' not in out
    # one training of the run: one command line in its log
    run_log = _read(str(tmp_path / 'camvid' / 'deeplabv3_r18_camvid' /
                        'reproduce.log'))
    assert len(re.findall(r'^\$ ', run_log, flags=re.M)) == 1


# --------------------------------------------------------------------------
# a full disk
# --------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path):
    """``mount(size)``: a tmpfs of that size (skipped where the tests may
    not mount one: not root, or no tmpfs); ``resize(size)``."""
    mounted = []

    def mount(size: str) -> str:
        path = tmp_path / f'disk{len(mounted)}'
        path.mkdir()
        if os.geteuid() != 0 or subprocess.run(
                ['mount', '-t', 'tmpfs', '-o', f'size={size}', 'tmpfs',
                 str(path)], capture_output=True).returncode != 0:
            pytest.skip('cannot mount a small tmpfs here (needs root); '
                        'tests/test_engine/test_disk_space.py simulates it')
        mounted.append(path)
        return str(path)

    def resize(path: str, size: str) -> None:
        subprocess.run(['mount', '-o', f'remount,size={size}', path],
                       check=True)

    yield mount, resize
    for path in mounted:
        subprocess.run(['umount', '-l', str(path)], capture_output=True)


def test_a_full_disk_while_checkpointing(synthetic_data, tmp_path,
                                         small_disk):
    """Room for one checkpoint of the baseline (107 MB) and not two: the
    second one fails.  Before: the same state on disk, and a traceback."""
    mount, resize = small_disk
    disk = mount('180m')
    work_dir = osp.join(disk, 'work')
    log = str(tmp_path / 'run.log')
    proc = _start(work_dir, synthetic_data['voc'], log, resume=False,
                  max_iters=3)
    assert proc.wait(timeout=WAIT_S) == 1, _read(log)[-3000:]
    out = _read(log)
    assert 'Traceback' not in out and 'Logging error' not in out
    [message] = [line for line in out.splitlines()
                 if line.startswith('ERROR: ')]
    good = osp.join(work_dir, 'iter_1.pth')
    assert re.match(
        rf'ERROR: The run stopped: writing {work_dir}/iter_2\.pth failed '
        r'\(no space left on device\); [\d.]+ MB are free there, and a '
        r'checkpoint of this run needs 10\d\.\d MB\. The newest complete '
        rf'checkpoint, {good}, is intact ', message), message
    assert message.endswith(' --resume.')
    assert 'tools/train.py configs/baselines/deeplabv3_r18_voc.py' in message
    assert open(osp.join(work_dir, 'last_checkpoint')).read() == good
    assert not [n for n in os.listdir(work_dir) if 'partial' in n]
    # room again: --resume continues
    resize(disk, '400m')
    proc = _start(work_dir, synthetic_data['voc'], log, resume=True,
                  max_iters=3)
    assert proc.wait(timeout=WAIT_S) == 0, _read(log)[-3000:]
    assert train_iters_logged(_read(log)) == [2, 3]


def test_a_full_disk_while_logging(synthetic_data, tmp_path, small_disk):
    """The disk fills up between checkpoints: the next write of the log or
    of the visualizer's scalars fails.  Before: logging's traceback per
    line, then the visualizer's OSError."""
    mount, _ = small_disk
    disk = mount('60m')
    work_dir = osp.join(disk, 'work')
    log = str(tmp_path / 'run.log')
    proc = _start(work_dir, synthetic_data['voc'], log, resume=False,
                  max_iters=200, extra=['default_hooks.checkpoint.interval='
                                        '1000'])
    try:
        assert _wait_for(proc, lambda: 1 in train_iters_logged(_read(log)))
        # fill the disk up
        filler = osp.join(disk, 'filler')
        subprocess.run(['dd', 'if=/dev/zero', f'of={filler}', 'bs=1M'],
                       capture_output=True)
        assert proc.wait(timeout=WAIT_S) == 1, _read(log)[-3000:]
    finally:
        if proc.poll() is None:
            _kill(proc)
    out = _read(log)
    assert 'Traceback' not in out and 'Logging error' not in out
    [message] = [line for line in out.splitlines()
                 if line.startswith('ERROR: ')]
    written = re.match(r'ERROR: The run stopped: writing (\S+) failed \(no '
                       r'space left on device\); ', message).group(1)
    assert written.startswith(work_dir) and written.endswith(
        ('.log', 'scalars.json')), message
    # no checkpoint yet: what one would take, from the model and optimizer
    assert re.search(r'a checkpoint of this run needs 10\d\.\d MB\. No '
                     r'checkpoint of this run was written before\.', message)
