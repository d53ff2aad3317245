"""MMSegmentation's own tools/train.py on the shipped configs: the hooks
they list in ``custom_hooks`` act without any tool of mmtat (the config's
``custom_imports`` imports mmtat, which registers them): a teacher
checkpoint of another network and a work dir that a live run holds are
refused before the first iteration, and SIGTERM saves a checkpoint that
MMSegmentation's ``--resume`` continues.

Fresh interpreters (the subject is a run that nothing of mmtat starts), on
generated data at the smoke-test size of tool_utils.py.
"""
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import time

import torch
from tool_utils import (
    BASELINE_VOC,
    REPO,
    TAT_VOC,
    load_checkpoint,
    run_tool,
    smoke_options,
    tool_env,
    train_iters_logged,
)

from mmtat.engine.work_dir_lock import WorkDirLock

WAIT_S = 300  # upper bound of any single wait (a loaded CI machine)


def mmseg_train() -> str:
    """MMSegmentation's tools/train.py, as installed with it."""
    import mmseg
    path = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools', 'train.py')
    assert osp.isfile(path), f'MMSegmentation installs no {path}'
    return path


def test_teacher_checkpoint_of_another_network_is_refused(
        synthetic_data, tmp_path):
    other = str(tmp_path / 'other_network.pth')
    torch.save({'state_dict': {'conv.weight': torch.zeros(4, 3, 1, 1)}},
               other)
    opts = [o for o in smoke_options('voc', synthetic_data['voc'])
            if not o.startswith('model.teacher_ckpt=')]
    proc = run_tool([mmseg_train(), TAT_VOC, '--work-dir',
                     str(tmp_path / 'work'), '--cfg-options'] + opts +
                    [f'model.teacher_ckpt={other}'], fresh=True)
    assert proc.returncode != 0
    out = proc.stdout
    assert 'TeacherCheckpointHook' in out  # built from the config
    assert (f'RunRefused: model.teacher_ckpt = {other} does not fit the '
            'teacher of this config: ') in out, out[-3000:]
    assert "It is the checkpoint of another network than this config's " \
        'teacher' in out
    assert train_iters_logged(out) == []


def test_a_work_dir_in_use_is_refused_before_the_first_iteration(
        synthetic_data, tmp_path):
    work_dir = tmp_path / 'work'
    opts = smoke_options('voc', synthetic_data['voc'], distill=False)
    # this test process is the live run that holds the work dir
    with WorkDirLock(str(work_dir), command='python tools/train.py X.py'):
        proc = run_tool([mmseg_train(), BASELINE_VOC, '--work-dir',
                         str(work_dir), '--cfg-options'] + opts, fresh=True)
    assert proc.returncode != 0
    out = proc.stdout
    assert (f'The work dir {work_dir} is in use by another training run: '
            f'process {os.getpid()} on host') in out, out[-3000:]
    assert 'command: python tools/train.py X.py' in out
    assert train_iters_logged(out) == []
    assert not [n for n in os.listdir(work_dir) if n.endswith('.pth')]


def _start(work_dir, data_root, log, resume, max_iters):
    opts = smoke_options('voc', data_root, distill=False,
                         max_iters=max_iters)
    # no periodic checkpoint; a data loader worker, which slurm's SIGTERM
    # reaches too
    opts += ['default_hooks.checkpoint.interval=1000',
             'train_dataloader.num_workers=1',
             'train_dataloader.persistent_workers=True']
    cmd = [sys.executable, mmseg_train(), BASELINE_VOC, '--work-dir',
           work_dir] + (['--resume'] if resume else []) + ['--cfg-options'
                                                           ] + opts
    with open(log, 'w') as out:
        # its own process group, as slurm signals every process of a job
        return subprocess.Popen(cmd, cwd=REPO, env=tool_env(), stdout=out,
                                stderr=subprocess.STDOUT,
                                start_new_session=True)


def _read(log):
    with open(log) as f:
        return f.read()


def _children(pid):
    """pid -> whether SIGTERM is blocked, of each child process of pid."""
    found = {}
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open(f'/proc/{name}/status') as f:
                status = dict(
                    line.split(':', 1) for line in f if ':' in line)
        except OSError:
            continue  # ended meanwhile
        if int(status['PPid']) == pid:
            blocked = int(status['SigBlk'], 16)
            found[int(name)] = bool(blocked & (1 << (signal.SIGTERM - 1)))
    return found


def test_sigterm_saves_a_checkpoint_and_resume_continues(synthetic_data,
                                                         tmp_path):
    data = synthetic_data['voc']
    work_dir = str(tmp_path / 'work')
    log = str(tmp_path / 'run1.log')
    proc = _start(work_dir, data, log, resume=False, max_iters=50)
    deadline = time.monotonic() + WAIT_S
    while 2 not in train_iters_logged(_read(log)):
        assert proc.poll() is None, _read(log)[-3000:]
        assert time.monotonic() < deadline, 'no second iteration'
        time.sleep(0.01)
    # the data loader worker that serves the run was forked with the
    # handler in place (PreemptionHook started it again): slurm's SIGTERM
    # must not end it before the checkpoint is written
    workers = _children(proc.pid)
    assert workers and all(workers.values()), workers
    os.killpg(proc.pid, signal.SIGTERM)
    # MMSegmentation's train.py does not catch the hook's exception
    assert proc.wait(timeout=WAIT_S) == 1
    out = _read(log)
    match = re.search(r'TrainingPreempted: training stopped by SIGTERM '
                      r'after iteration (\d+); checkpoint: (\S+)', out)
    assert match, out[-3000:]
    stopped = int(match.group(1))
    assert 'DataLoader worker' not in out  # it lived on
    assert f'SIGTERM: saving a checkpoint of iteration {stopped}' in out
    assert max(train_iters_logged(out)) == stopped
    ckpt = osp.join(work_dir, f'iter_{stopped}.pth')
    assert match.group(2) == ckpt
    assert load_checkpoint(ckpt)['meta']['iter'] == stopped
    assert open(osp.join(work_dir, 'last_checkpoint')).read() == ckpt

    # the requeued job: MMSegmentation's --resume continues there
    log = str(tmp_path / 'run2.log')
    proc = _start(work_dir, data, log, resume=True, max_iters=stopped + 1)
    assert proc.wait(timeout=WAIT_S) == 0, _read(log)[-3000:]
    assert train_iters_logged(_read(log)) == [stopped + 1]
