"""Installation of mmtat.

torch and mmcv are deliberately *not* installed by this file alone:

* torch must be the build that matches the machine (CPU wheel, or the CUDA
  build of the cluster), so it is installed first, by hand or by ``make
  install``; here it is only required as a range, which an installed torch
  satisfies without pulling another build.
* mmcv 2.1.0 has no wheel on PyPI and must be compiled against that torch with
  ``--no-build-isolation`` (see ``Makefile``), otherwise pip would build it in
  an isolated environment with a freshly downloaded (CUDA) torch.
"""
from setuptools import find_packages, setup


def read_version() -> str:
    scope: dict = {}
    with open('mmtat/version.py') as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='mmtat',
    version=read_version(),
    description='Target-aware Transformer (TaT) knowledge distillation '
    'for MMSegmentation / MMRazor',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmtat', 'mmtat.*']),
    python_requires='>=3.8',
    install_requires=[
        'torch>=1.13',
        'mmengine>=0.10.0,<0.11.0',
        'mmcv==2.1.0',
        'mmsegmentation==1.2.2',
        'mmrazor==1.0.0',
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
        'tests': ['pytest', 'ruff'],
    },
    zip_safe=False,
)
