"""Every shipped config imports mmtat and lists its hooks (one base,
configs/_base_/mmtat_runtime.py), so that a run started by MMSegmentation's
own tools/train.py or tools/test.py gets them too."""
import glob
import os.path as osp

import pytest
from mmengine.registry import HOOKS
from parsed_configs import load_config

import mmtat  # noqa: F401  (registers the hooks)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
RUNTIME = 'configs/_base_/mmtat_runtime.py'
HOOKS_LISTED = [
    'WorkDirLockHook', 'PreemptionHook', 'FiniteLossHook', 'NonEmptyDataHook',
    'DataGuardHook',
    'FrozenTeacherCheckpointHook', 'ResumeFitHook', 'CheckpointFitHook',
    'TeacherCheckpointHook', 'TeacherMetricHook'
]


def shipped_configs():
    return sorted(
        osp.relpath(p, REPO)
        for p in glob.glob(osp.join(REPO, 'configs', '*', '*.py'))
        if osp.basename(osp.dirname(p)) != '_base_')


def test_the_runtime_base_lists_every_hook():
    cfg = load_config(osp.join(REPO, RUNTIME))
    assert cfg.custom_imports == dict(imports=['mmtat'],
                                      allow_failed_imports=False)
    assert [h['type'] for h in cfg.custom_hooks] == HOOKS_LISTED
    for hook in cfg.custom_hooks:
        HOOKS.build(dict(hook))


@pytest.mark.parametrize('path', shipped_configs())
def test_config_imports_mmtat_and_lists_its_hooks(path):
    cfg = load_config(osp.join(REPO, path))
    assert cfg.custom_imports == dict(imports=['mmtat'],
                                      allow_failed_imports=False), path
    assert [h['type'] for h in cfg.custom_hooks] == HOOKS_LISTED, path
