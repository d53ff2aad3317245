"""Fixtures of the tests that run mmtat's command-line tools (helpers in
tool_utils.py)."""
from typing import Dict

import pytest
from tool_utils import TAT_VOC, run_tool, smoke_options

from mmtat.datasets import make_synthetic_cocostuff10k, make_synthetic_voc


@pytest.fixture(scope='session')
def synthetic_data(tmp_path_factory) -> Dict[str, str]:
    """data_root of a tiny generated VOC-aug and COCO-Stuff10k dataset."""
    root = str(tmp_path_factory.mktemp('data'))
    return dict(
        voc=make_synthetic_voc(
            root, num_train=4, num_val=2, image_size=(96, 96), seed=0),
        coco=make_synthetic_cocostuff10k(
            root, num_train=4, num_val=2, image_size=(96, 96), seed=0))


@pytest.fixture(scope='session')
def voc_tat_run(synthetic_data, tmp_path_factory) -> dict:
    """Two iterations of the TaT VOC config with validation and a
    checkpoint at iteration 2 (shared by the train/resume and the
    convert-student tests)."""
    work_dir = str(tmp_path_factory.mktemp('tat_voc'))
    proc = run_tool(['tools/train.py', TAT_VOC, '--work-dir', work_dir,
                     '--cfg-options'] +
                    smoke_options('voc', synthetic_data['voc']))
    return dict(proc=proc, work_dir=work_dir, data_root=synthetic_data['voc'])
