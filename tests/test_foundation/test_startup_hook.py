"""The start-up hook (``_mmtat_startup``, loaded by ``mmtat-startup.pth``
in every interpreter of the environment) patches mmengine only when the
installed mmengine is the release its patches were written for.

Each case is a fresh interpreter: what the hook does depends on what was
imported before.  The installed version is simulated by replacing
``importlib.metadata.version`` before anything imports mmengine, which is
where the hook looks it up.
"""
import subprocess
import sys

import pytest

#: Imports mmengine's config helpers as MMSegmentation's tools/train.py
#: does (nothing of mmtat), then prints what the hook did to them.
PROBE = '''
import importlib.metadata as metadata
real_version = metadata.version
FAKE = {fake!r}
if FAKE:
    metadata.version = lambda name: (
        FAKE if name == 'mmengine' else real_version(name))
import _mmtat_startup
_mmtat_startup.install()  # idempotent; the .pth did it already
from mmengine.config import utils as config_utils
from mmengine.utils import package_utils
print('mmtat in MODULE2PACKAGE:', 'mmtat' in config_utils.MODULE2PACKAGE)
print('package_utils patched:',
      package_utils.is_installed is _mmtat_startup.is_installed)
'''


def _probe(fake_version):
    return subprocess.run(
        [sys.executable, '-c', PROBE.format(fake=fake_version)],
        capture_output=True, text=True, timeout=120)


def test_hook_patches_the_mmengine_it_was_written_for():
    import mmengine
    assert mmengine.__version__.startswith('0.10.')
    proc = _probe(None)
    assert proc.returncode == 0, proc.stderr
    assert 'mmtat in MODULE2PACKAGE: True' in proc.stdout
    assert 'mmtat start-up hook' not in proc.stderr
    # the pkg_resources fix only acts where pkg_resources is missing
    import importlib.util
    no_pkg_resources = importlib.util.find_spec('pkg_resources') is None
    assert f'package_utils patched: {no_pkg_resources}' in proc.stdout


@pytest.mark.parametrize('version', ['0.11.0', '1.0.0rc0', '0.9.1'])
def test_hook_steps_aside_for_another_mmengine(version):
    proc = _probe(version)
    assert proc.returncode == 0, proc.stderr
    assert 'mmtat in MODULE2PACKAGE: False' in proc.stdout
    assert 'package_utils patched: False' in proc.stdout
    lines = [line for line in proc.stderr.splitlines()
             if line.startswith('mmtat start-up hook:')]
    assert lines == [
        f'mmtat start-up hook: mmengine {version} is installed, but its '
        'patches (mmtat:: and mmcls:: configs, mmengine without '
        'pkg_resources) were '
        'written for mmengine 0.10.x, so it leaves mmengine unchanged.'
    ]
