"""Without network and without the offline options, the tools stop at once
and name each checkpoint they could not fetch and the option to fix it."""
import os.path as osp
import time

import pytest
import torch
from tool_utils import (
    BASELINE_VOC,
    REPO,
    TAT_COCO,
    TAT_VOC,
    free_port,
    read_json_log,
    run_tool,
    smoke_options,
    tool_env,
)


def offline_env(tmp_path):
    """All HTTP(S) through a proxy on a closed local port: no URL can be
    fetched, whatever network the machine has; an empty download cache."""
    proxy = f'http://127.0.0.1:{free_port()}'
    env = tool_env(http_proxy=proxy, https_proxy=proxy, HTTP_PROXY=proxy,
                   HTTPS_PROXY=proxy, TORCH_HOME=str(tmp_path / 'torch'),
                   MMTAT_REMOTE_CHECK_TIMEOUT='3')
    for key in ('no_proxy', 'NO_PROXY', 'MMTAT_SKIP_REMOTE_CHECK'):
        env.pop(key, None)
    return env


@pytest.mark.parametrize('config,teacher_file', [
    (TAT_VOC,
     'deeplabv3_r101-d8_512x512_40k_voc12aug_20200613_161432-0017d784.pth'),
    (TAT_COCO, 'deeplabv3_r101-d8_512x512_4x4_40k_coco-stuff10k_'
     '20210821_043305-636cb433.pth'),
])
def test_train_stops_at_once_naming_files_and_fix(config, teacher_file,
                                                  tmp_path):
    work_dir = tmp_path / 'work'
    start = time.monotonic()
    proc = run_tool(['tools/train.py', config, '--work-dir',
                     str(work_dir)], timeout=120, env=offline_env(tmp_path))
    elapsed = time.monotonic() - start
    assert proc.returncode != 0
    out = proc.stdout
    assert 'Traceback' not in out, out[-3000:]
    # each file, with the config key and the option pointing to a copy
    assert 'model.teacher_ckpt = https://download.openmmlab.com/' in out
    assert teacher_file in out
    assert f'--cfg-options model.teacher_ckpt=/path/to/{teacher_file}' in out
    assert ('model.architecture.pretrained = open-mmlab://resnet18_v1c'
            in out)
    assert '--cfg-options model.architecture.pretrained=/path/to/' in out
    # the teacher's own pretrained weights are not needed: teacher_ckpt
    # replaces them
    assert 'model.teacher.pretrained = ' not in out
    # and how to run with no download at all
    assert ('--cfg-options model.architecture.pretrained=None '
            'model.teacher_ckpt=None model.teacher.pretrained=None' in out)
    # it stopped before the runner: no work dir, no download attempt
    assert not work_dir.exists()
    assert 'Downloading' not in out
    assert elapsed < 60


def test_test_tool_checks_teacher_ckpt_but_not_pretrained(
        synthetic_data, tmp_path):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS
    cfg = Config.fromfile(osp.join(REPO, BASELINE_VOC))
    cfg.model.pretrained = None
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model)
    ckpt = str(tmp_path / 'student.pth')
    torch.save({'state_dict': model.state_dict()}, ckpt)
    opts = [
        o for o in smoke_options('voc', synthetic_data['voc'], distill=False)
        if o.startswith('test_dataloader.')
    ]
    # A plain config keeps its open-mmlab:// ImageNet weights: they are not
    # loaded in testing, so the offline test run goes through.
    proc = run_tool(['tools/test.py', BASELINE_VOC, ckpt, '--work-dir',
                     str(tmp_path / 'w1'), '--cfg-options'] + opts,
                    timeout=300, env=offline_env(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert [r for r in read_json_log(str(tmp_path / 'w1')) if 'mIoU' in r]
    # A distillation config builds its teacher from teacher_ckpt, also in
    # testing: that one is checked (and only that one).
    proc = run_tool(['tools/test.py', TAT_VOC, ckpt, '--work-dir',
                     str(tmp_path / 'w2')], timeout=120,
                    env=offline_env(tmp_path))
    assert proc.returncode != 0
    assert 'model.teacher_ckpt = https://' in proc.stdout
    assert 'pretrained = ' not in proc.stdout
    assert 'Traceback' not in proc.stdout
    assert not (tmp_path / 'w2').exists()
