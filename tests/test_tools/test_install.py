"""mmtat installed the OpenMMLab way: the wheel and sdist carry
``mmtat/.mim/{configs,tools,model-index.yml}`` and the start-up hook (the
wheel nothing of the repository's set-up, maintainers' scripts or tests), and a
config outside the repository inherits ``mmtat::tat/...`` with our tools
and with MMSegmentation's own ``tools/train.py``, offline.

The wheel is built from a copy of the repository (so the checkout gets no
build folders) and installed, without dependencies, into a fresh virtual
environment whose only other path is this environment's site-packages
(for torch and the OpenMMLab packages); this checkout's editable mmtat is
not visible there.
"""
import email
import os
import os.path as osp
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile

import pytest
from tool_utils import REPO, smoke_options, train_iters_logged

COPY_IGNORE = shutil.ignore_patterns('.venv', '.git', 'build', 'dist',
                                     'work_dirs', 'data', '__pycache__',
                                     '*.egg-info', '.pytest_cache',
                                     '.ruff_cache', '*.pth')
PTH_LINE = ("import sys; exec('try:\\n import _mmtat_startup\\nexcept "
                "ImportError:\\n pass\\nelse:\\n _mmtat_startup.install()')\n")


def _run(cmd, cwd, env=None, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True,
                          timeout=timeout)


def _repo_files(folder: str, suffixes, skip=()) -> set:
    found = set()
    for root, dirs, files in os.walk(osp.join(REPO, folder)):
        dirs[:] = [d for d in dirs if d != '__pycache__' and osp.relpath(
            osp.join(root, d), REPO) not in skip]
        for name in files:
            if name.endswith(suffixes):
                found.add(osp.relpath(osp.join(root, name), REPO))
    return found


@pytest.fixture(scope='module')
def dists(module_tmp_path):
    root = module_tmp_path('build')
    src = str(root / 'src')
    shutil.copytree(REPO, src, symlinks=True, ignore=COPY_IGNORE)
    out = str(root / 'dist')
    proc = _run([sys.executable, '-m', 'pip', 'wheel', '--no-deps',
                 '--no-build-isolation', '-w', out, src], cwd=str(root))
    assert proc.returncode == 0, proc.stdout[-3000:]
    proc = _run([sys.executable, 'setup.py', '-q', 'sdist', '-d', out],
                cwd=src)
    assert proc.returncode == 0, proc.stdout[-3000:]
    files = os.listdir(out)
    (wheel, ) = [f for f in files if f.endswith('.whl')]
    (sdist, ) = [f for f in files if f.endswith('.tar.gz')]
    return dict(wheel=osp.join(out, wheel), sdist=osp.join(out, sdist))


def test_wheel_holds_configs_tools_index_and_hook(dists):
    with zipfile.ZipFile(dists['wheel']) as whl:
        infos = {i.filename: i for i in whl.infolist()}
        names = set(infos)
        # the repository's configs, users' tools and model index, as real
        # files
        expected = {
            f'mmtat/.mim/{p}'
            for p in _repo_files('configs', ('.py', '.md', '.yml')) |
            _repo_files('tools', ('.py', '.sh'), skip=('tools/install', ))
        } | {'mmtat/.mim/model-index.yml'}
        assert expected <= names, sorted(expected - names)
        for name in expected:
            mode = infos[name].external_attr >> 16
            assert not (mode & 0o170000 == 0o120000), f'{name} is a link'
            with open(osp.join(REPO, name[len('mmtat/.mim/'):]),
                      'rb') as f:
                assert whl.read(name) == f.read(), name
        assert not [n for n in names if '__pycache__' in n]
        # what only the repository's maintainers and tests run: the set-up
        # (make install), the .dev_scripts programs, the tests' fork server
        # and release reference
        dev_scripts = {osp.basename(p)
                       for p in _repo_files('.dev_scripts', ('.py', ))}
        assert {'gpu_check.py', 'benchmark_tat_loss.py',
                'attention_memory.py'} <= dev_scripts
        maintainers = [
            n for n in names
            if n.startswith(('mmtat/.mim/tools/install/', 'mmtat/testing/',
                             'tests/')) or '.dev_scripts/' in n
            or osp.basename(n) in dev_scripts | {
                'install_stack.sh', 'matching_torchvision.py',
                'fork_server.py', 'release_reference.py'
            }
        ]
        assert not maintainers, maintainers
        # the tools as modules, and the start-up hook at the top level
        for tool in ('train', 'test', 'convert_student', 'benchmark',
                     'demo'):
            assert f'mmtat/tools/{tool}.py' in names
        assert '_mmtat_startup.py' in names
        assert whl.read('mmtat-startup.pth').decode() == PTH_LINE
        (meta_name, ) = [n for n in names if n.endswith('.dist-info/METADATA')]
        meta = email.message_from_bytes(whl.read(meta_name))
        (ep_name, ) = [
            n for n in names if n.endswith('.dist-info/entry_points.txt')
        ]
        entry_points = whl.read(ep_name).decode()
    requires = meta.get_all('Requires-Dist')
    for pin in ('torch>=2.6', 'mmengine==0.10.7', 'mmcv==2.1.0',
                'mmsegmentation==1.2.2', 'mmrazor==1.0.0'):
        assert pin in requires, requires
    assert meta['Requires-Python'] == '>=3.9'
    assert 'Programming Language :: Python :: 3.11' in meta.get_all(
        'Classifier')
    assert 'mmtat-train = mmtat.tools.train:main' in entry_points


def test_sdist_holds_real_copies(dists):
    with tarfile.open(dists['sdist']) as sdist:
        members = {m.name.split('/', 1)[1]: m for m in sdist.getmembers()
                   if '/' in m.name}
    for name in ('mmtat/.mim/model-index.yml',
                 'mmtat/.mim/configs/tat/deeplabv3_r101_r18_voc.py',
                 'mmtat/.mim/configs/tat/metafile.yml',
                 'mmtat/.mim/tools/train.py', 'mmtat/.mim/tools/dist_train.sh',
                 '_mmtat_startup.py', 'setup.py', 'mmtat/tools/train.py'):
        assert name in members and members[name].isfile(), name


@pytest.fixture(scope='module')
def wheel_env(dists, module_tmp_path):
    """A fresh venv holding the installed wheel; dependencies through a
    path entry to this environment's site-packages."""
    root = module_tmp_path('wheel_env')
    venv = str(root / 'venv')
    proc = _run([sys.executable, '-m', 'venv', '--without-pip', venv],
                cwd=str(root))
    assert proc.returncode == 0, proc.stdout
    python = osp.join(venv, 'bin', 'python')
    site = _run([python, '-c', 'import sysconfig; '
                 "print(sysconfig.get_paths()['purelib'])"],
                cwd=str(root)).stdout.strip()
    proc = _run([sys.executable, '-m', 'pip', 'install', '--no-deps',
                 '--no-compile', '--target', site, dists['wheel']],
                cwd=str(root))
    assert proc.returncode == 0, proc.stdout[-3000:]
    with open(osp.join(site, 'zz_test_dependencies.pth'), 'w') as f:
        f.write(sysconfig.get_paths()['purelib'] + '\n')
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    env.update(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    project = root / 'my_project'
    (project / 'configs').mkdir(parents=True)
    # a project's own config on top of the shipped TaT config
    (project / 'configs' / 'tat_r101_r18_voc_mine.py').write_text(
        "_base_ = ['mmtat::tat/deeplabv3_r101_r18_voc.py']\n"
        'model = dict(distiller=dict(loss_weight=0.2))\n')
    (project / 'configs' / 'misspelt.py').write_text(
        "_base_ = ['mmtat::tat/deeplabv3_r101_r18_vco.py']\n")
    return dict(python=python, site=site, env=env, project=str(project))


def test_wheel_install_is_the_one_imported_with_the_hook(wheel_env):
    code = ('import sys\n'
            'print([type(f).__name__ for f in sys.meta_path][0])\n'
            "print('mmengine' in sys.modules, 'torch' in sys.modules)\n"
            'import mmtat, mmtat.tools.train\n'
            'print(mmtat.__file__)\n'
            'from mmtat.utils import configs_dir\n'
            'import os; print(os.path.islink(configs_dir()))\n')
    proc = _run([wheel_env['python'], '-c', code], cwd=wheel_env['project'],
                env=wheel_env['env'])
    assert proc.returncode == 0, proc.stdout[-3000:]
    lines = proc.stdout.strip().splitlines()
    # the .pth put the finder first and imported nothing heavy
    assert lines[0] == '_MMEngineFinder'
    assert lines[1] == 'False False'
    assert lines[2] == osp.join(wheel_env['site'], 'mmtat', '__init__.py')
    assert lines[3] == 'False'  # copies, not links


def test_misspelt_mmtat_base_names_close_matches(wheel_env):
    code = ('from mmengine.config import Config\n'
            "Config.fromfile('configs/misspelt.py')\n")
    proc = _run([wheel_env['python'], '-c', code], cwd=wheel_env['project'],
                env=wheel_env['env'])
    assert proc.returncode != 0
    assert ('FileNotFoundError: mmtat::tat/deeplabv3_r101_r18_vco.py is not '
            'a config shipped with mmtat (looked in '
            f'{wheel_env["site"]}/mmtat/.mim/configs). Did you mean '
            'mmtat::tat/deeplabv3_r101_r18_voc.py') in proc.stdout


def _one_iteration(data_root):
    # no validation: one iteration is enough to show the config works
    return smoke_options('voc', data_root, max_iters=1)


@pytest.mark.parametrize('tool', ['mmtat', 'mmseg'])
def test_project_config_trains_from_installed_wheel(wheel_env, synthetic_data,
                                                     tool, tmp_path):
    """``python -m mmtat.tools.train`` and MMSegmentation's own
    tools/train.py (which reads the config before anything imports
    mmtat) both train the project's config, offline."""
    import mmseg
    work_dir = str(tmp_path / 'work')
    args = ['configs/tat_r101_r18_voc_mine.py', '--work-dir', work_dir,
            '--cfg-options'] + _one_iteration(synthetic_data['voc'])
    if tool == 'mmtat':
        cmd = ['-m', 'mmtat.tools.train'] + args + ['+train_cfg.val_begin=2']
    else:
        mmseg_train = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools',
                               'train.py')
        cmd = [mmseg_train] + args + ['train_cfg.val_begin=2']
    proc = _run([wheel_env['python']] + cmd, cwd=wheel_env['project'],
                env=wheel_env['env'])
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert 'pkg_resources' not in proc.stdout
    assert train_iters_logged(proc.stdout) == [1]
    assert osp.isfile(osp.join(work_dir, 'iter_1.pth'))
    with open(osp.join(work_dir, 'tat_r101_r18_voc_mine.py')) as f:
        dumped = f.read()
    # the project's change on top of the inherited TaT config
    assert 'loss_weight=0.2' in dumped and "type='TaTDistiller'" in dumped
    assert 'distill.loss_tat' in proc.stdout


def test_editable_install_resolves_before_mmtat_is_imported(tmp_path):
    """This environment (make install, editable): mmengine reads the
    shipped TaT config and a project config inheriting mmtat:: without
    anything importing mmtat first, as MMSegmentation's tools/train.py
    does, on a setuptools without pkg_resources."""
    project = tmp_path / 'project.py'
    project.write_text("_base_ = ['mmtat::tat/deeplabv3_r101_r18_voc.py']\n")
    code = ('import sys, importlib.util\n'
            "print(importlib.util.find_spec('pkg_resources') is None)\n"
            'from mmengine.config import Config\n'
            f"for path in ({osp.join(REPO, 'configs', 'tat', 'deeplabv3_r101_r18_voc.py')!r}, {str(project)!r}):\n"  # noqa: E501
            '    cfg = Config.fromfile(path, import_custom_modules=False)\n'
            "    assert cfg.model.distiller.type == 'TaTDistiller'\n"
            "print('mmtat' in sys.modules)\n")
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    proc = _run([sys.executable, '-c', code], cwd=str(tmp_path), env=env)
    assert proc.returncode == 0, proc.stdout[-3000:]
    no_pkg_resources, mmtat_imported = proc.stdout.split()[-2:]
    assert mmtat_imported == 'False'
    # the case the fix is for: setuptools >= 81 has no pkg_resources
    assert no_pkg_resources == 'True'
