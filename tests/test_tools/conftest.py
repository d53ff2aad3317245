"""Fixtures of the tests that run mmtat's command-line tools (helpers in
tests/tool_utils.py)."""
import json
import os.path as osp
import subprocess
from typing import Callable, Dict

import pytest
from filelock import FileLock
from tool_utils import BASELINE_VOC, TAT_VOC, run_tool, smoke_options

from mmtat.datasets import make_synthetic_cocostuff10k, make_synthetic_voc


@pytest.fixture(scope='session')
def shared_dir(tmp_path_factory, worker_id) -> str:
    """A folder that every pytest-xdist worker of this session shares (the
    session's base temporary folder; the worker's own one without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return str(base if worker_id == 'master' else base.parent)


def built_once(shared: str, name: str,
               build: Callable[[str], dict]) -> dict:
    """``build(folder)`` run by the first worker that asks for ``name``; the
    others wait for it and read its JSON result.  For what several test
    files read and none changes (a training run's work dir)."""
    folder = osp.join(shared, name)
    result_file = folder + '.json'
    with FileLock(folder + '.lock'):
        if not osp.isfile(result_file):
            result = build(folder)
            with open(result_file, 'w') as f:
                json.dump(result, f)
        with open(result_file) as f:
            return json.load(f)


def synthetic_voc(root: str) -> str:
    return make_synthetic_voc(root, num_train=4, num_val=2,
                              image_size=(96, 96), seed=0)


@pytest.fixture(scope='session')
def synthetic_data(tmp_path_factory) -> Dict[str, str]:
    """data_root of a tiny generated VOC-aug and COCO-Stuff10k dataset."""
    root = str(tmp_path_factory.mktemp('data'))
    return dict(
        voc=synthetic_voc(root),
        coco=make_synthetic_cocostuff10k(
            root, num_train=4, num_val=2, image_size=(96, 96), seed=0))


def _train_once(shared_dir: str, name: str, config: str,
                distill: bool) -> dict:
    """Two iterations of ``config`` on its own generated VOC data with
    validation and a checkpoint at iteration 2, trained once per session
    (:func:`built_once`)."""

    def train(folder: str) -> dict:
        data_root = synthetic_voc(osp.join(folder, 'data'))
        work_dir = osp.join(folder, 'work_dir')
        proc = run_tool(['tools/train.py', config, '--work-dir', work_dir,
                         '--cfg-options'] +
                        smoke_options('voc', data_root, distill=distill))
        return dict(args=proc.args, returncode=proc.returncode,
                    stdout=proc.stdout, work_dir=work_dir,
                    data_root=data_root)

    run = built_once(shared_dir, name, train)
    proc = subprocess.CompletedProcess(run['args'], run['returncode'],
                                       stdout=run['stdout'])
    return dict(proc=proc, work_dir=run['work_dir'],
                data_root=run['data_root'])


@pytest.fixture(scope='session')
def voc_tat_run(shared_dir) -> dict:
    """Two iterations of the TaT VOC config with validation and a
    checkpoint at iteration 2, trained once for the whole session (read by
    the train/resume, convert-student, bad-input, visualisation and
    benchmark tests): ``proc`` (the finished ``tools/train.py``),
    ``work_dir`` and ``data_root`` (its own generated VOC data)."""
    return _train_once(shared_dir, 'voc_tat_run', TAT_VOC, distill=True)


@pytest.fixture(scope='session')
def voc_baseline_run(shared_dir) -> dict:
    """The same for the student-only VOC baseline (no teacher)."""
    return _train_once(shared_dir, 'voc_baseline_run', BASELINE_VOC,
                       distill=False)
