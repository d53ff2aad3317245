"""Installation of mmtat.

torch and mmcv are deliberately *not* installed by this file alone:

* torch must be the build that matches the machine (CPU wheel, or the CUDA
  build of the cluster), so it is installed first, by hand or by ``make
  install``; here it is only required as a range, which an installed torch
  satisfies without pulling another build.
* mmcv 2.1.0 has no wheel on PyPI and must be compiled against that torch with
  ``--no-build-isolation`` (see ``Makefile``), otherwise pip would build it in
  an isolated environment with a freshly downloaded (CUDA) torch.

Besides the ``mmtat`` package the distribution holds, the OpenMMLab way:

* ``mmtat/.mim/{configs,tools,model-index.yml}``: the repository's configs,
  the users' tools (not ``tools/install/``, the repository's set-up that
  ``make install`` runs) and model index, so that ``mmtat::tat/...`` configs
  resolve and ``python -m mmtat.tools.train`` runs from an installed wheel.
  The maintainers' scripts (``.dev_scripts/``) and the tests' helpers are
  not in the package.  In the repository ``mmtat/.mim/*`` are committed
  symbolic links to the top-level folders (one source of truth, also for an
  editable install); wheel and sdist hold real copies (setuptools copies
  what the links point to).
* ``_mmtat_startup.py`` and ``mmtat-startup.pth``: the start-up hook that
  lets mmengine resolve ``mmtat::`` before anything imports mmtat (see that
  module).  The ``.pth`` file goes into site-packages, for wheels and
  editable installs alike (see the two commands below).
"""
import os
import os.path as osp

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

try:
    from setuptools.command.develop import develop
except ImportError:  # a setuptools without the deprecated command
    develop = None

STARTUP_PTH = 'mmtat-startup.pth'
# site.py executes a .pth line that starts with "import".  The hook module
# may be gone while the .pth stays (a develop install removed with pip):
# then this line does nothing.  It imports nothing else: it runs in every
# interpreter of the environment.
STARTUP_LINE = ("import sys; exec('try:\\n import _mmtat_startup\\nexcept "
                "ImportError:\\n pass\\nelse:\\n _mmtat_startup.install()')\n")

# What mmtat/.mim holds (links to these in the repository).
MIM_DATA = [
    '.mim/model-index.yml',
    '.mim/configs/**/*.py',
    '.mim/configs/**/*.md',
    '.mim/configs/**/*.yml',
    '.mim/tools/**/*.py',
    '.mim/tools/**/*.sh',
]
# Under tools/ but not a user's tool: the repository's set-up.
MIM_EXCLUDED = ['.mim/tools/install/*']


def read_version() -> str:
    scope: dict = {}
    with open('mmtat/version.py') as f:
        exec(f.read(), scope)
    return scope['__version__']


def write_startup_pth(directory: str) -> str:
    os.makedirs(directory, exist_ok=True)
    path = osp.join(directory, STARTUP_PTH)
    with open(path, 'w') as f:
        f.write(STARTUP_LINE)
    return path


class BuildPyWithStartup(build_py):
    """build_py that also puts the start-up ``.pth`` at the root of the
    wheel (so of site-packages)."""

    def run(self) -> None:
        super().run()
        write_startup_pth(self._startup_dir())

    def _startup_dir(self) -> str:
        if getattr(self, 'editable_mode', False):
            # An editable wheel (PEP 660, setuptools >= 64) is packed from
            # the install tree; build_lib is not part of it.
            return self.get_finalized_command('install').install_lib
        return self.build_lib

    def get_outputs(self, include_bytecode: bool = True) -> list:
        outputs = super().get_outputs(include_bytecode)
        if not getattr(self, 'editable_mode', False):
            outputs.append(osp.join(self.build_lib, STARTUP_PTH))
        return outputs


class DevelopWithStartup(develop or object):
    """``setup.py develop`` of setuptools < 80 (an egg-link install) that
    also installs the start-up ``.pth``.  From setuptools 80 ``develop``
    runs ``pip install -e .``, i.e. an editable wheel built with
    :class:`BuildPyWithStartup`, and has no install_dir of its own."""

    def run(self) -> None:
        super().run()
        install_dir = getattr(self, 'install_dir', None)
        if install_dir and not getattr(self, 'uninstall', False):
            write_startup_pth(install_dir)


setup(
    name='mmtat',
    version=read_version(),
    description='Target-aware Transformer (TaT) knowledge distillation '
    'for MMSegmentation / MMRazor',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    url='https://arxiv.org/abs/2205.10793',
    packages=find_packages(include=['mmtat', 'mmtat.*']),
    py_modules=['_mmtat_startup'],
    package_data={'mmtat': MIM_DATA},
    exclude_package_data={'mmtat': MIM_EXCLUDED},
    cmdclass=dict(
        build_py=BuildPyWithStartup,
        **({'develop': DevelopWithStartup} if develop else {})),
    entry_points={
        'console_scripts': [
            'mmtat-train=mmtat.tools.train:main',
            'mmtat-test=mmtat.tools.test:main',
            'mmtat-convert-student=mmtat.tools.convert_student:main',
            'mmtat-check-data=mmtat.tools.check_data:main',
        ]
    },
    # Tested: Python 3.11, torch 2.13.0 (CPU), mmengine 0.10.7, mmcv 2.1.0,
    # mmsegmentation 1.2.2, mmrazor 1.0.0 (README, "Tested versions").
    # torch >= 2.6: mmtat.compat's scoped weights-only allow-list uses the
    # (callable, name) entries that torch.serialization accepts from 2.6.
    python_requires='>=3.9',
    install_requires=[
        'torch>=2.6',
        # mmtat.compat and the start-up hook act on mmengine 0.10.7 internals
        'mmengine==0.10.7',
        'mmcv==2.1.0',
        'mmsegmentation==1.2.2',
        'mmrazor==1.0.0',
        # Image classification (MMPretrain imports torchvision on import).
        'mmpretrain==1.2.0',
        'torchvision',
        'numpy',
        # Imported by MMRazor / MMSegmentation without being declared by them.
        'ordered-set',
        'joblib',
        'ftfy',
        'regex',
        'prettytable',
        'scipy',
        'matplotlib',
        'tqdm',
    ],
    extras_require={
        'tests': ['pytest>=7.3', 'pytest-xdist', 'filelock', 'ruff'],
    },
    classifiers=[
        'Development Status :: 3 - Alpha',
        'Intended Audience :: Science/Research',
        'Operating System :: POSIX :: Linux',
        'Programming Language :: Python :: 3',
        'Programming Language :: Python :: 3.11',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
        'Topic :: Scientific/Engineering :: Image Recognition',
    ],
    zip_safe=False,
)
