"""``mmcls::`` configs are read from MMPretrain, and no config can start a
pip install (``_mmtat_startup``: mmcls:: configs read from MMPretrain).

Each case runs in a fresh interpreter that does not import mmtat: the
start-up hook alone must do it, as for MMRazor's own ``tools/train.py``.
"""
import importlib.util
import subprocess
import sys

import pytest

#: Fails the process if anything starts pip (mmengine.hub runs
#: ``python -m pip install <package>`` through subprocess.check_call).
NO_PIP = '''
import subprocess
def _no_subprocess(cmd, *args, **kwargs):
    raise SystemExit(f'a subprocess was started: {cmd}')
subprocess.check_call = _no_subprocess
subprocess.run = _no_subprocess
'''


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', NO_PIP + code],
                          capture_output=True, text=True, timeout=300)


pytestmark = pytest.mark.skipif(
    importlib.util.find_spec('mmcls') is not None,
    reason='mmcls is installed: mmcls:: configs are its own')


def test_mmcls_base_is_read_from_mmpretrain(tmp_path):
    config = tmp_path / 'child.py'
    config.write_text("_base_ = ['mmcls::_base_/models/resnet18.py',\n"
                      "          'mmcls::_base_/default_runtime.py']\n")
    result = _run(
        'from mmengine.config import Config\n'
        f'cfg = Config.fromfile({str(config)!r})\n'
        'assert cfg.model.backbone.depth == 18, cfg.model\n'
        "assert cfg.default_scope == 'mmpretrain', cfg.default_scope\n"
        "print('resolved')\n")
    assert result.returncode == 0, result.stderr
    assert 'resolved' in result.stdout
    logged = [line for line in (result.stdout + result.stderr).splitlines()
              if 'mmcls:: configs are read as mmpretrain::' in line]
    assert len(logged) == 1, logged  # one line, however many bases


def test_mmcls_cfg_path_builds_an_mmpretrain_model_without_pip():
    result = _run(
        'from mmengine.hub import get_model\n'
        "model = get_model('mmcls::resnet/resnet18_8xb32_in1k.py', "
        'pretrained=False)\n'
        "assert type(model).__name__ == 'ImageClassifier', type(model)\n"
        "assert type(model).__module__.startswith('mmpretrain.'), "
        'type(model).__module__\n'
        "print('built')\n")
    assert result.returncode == 0, result.stderr
    assert 'built' in result.stdout


def test_a_config_naming_a_missing_package_does_not_start_pip():
    # mmdet is one of mmengine's known packages and is not installed here
    assert importlib.util.find_spec('mmdet') is None
    result = _run(
        'from mmengine.hub import get_config\n'
        "get_config('mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py')\n")
    assert result.returncode != 0
    assert 'a subprocess was started' not in result.stderr + result.stdout
    assert 'PackageInstallRefused' in result.stderr
    assert ('A config names mmdet:: but mmdet is not installed, and mmtat '
            'does not let a config start a pip install') in result.stderr
