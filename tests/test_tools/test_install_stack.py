"""The install script's choice of torchvision for an installed torch."""
import importlib.util
import os.path as osp

import pytest

SCRIPT = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
                  'tools', 'install', 'matching_torchvision.py')


def _module():
    spec = importlib.util.spec_from_file_location('matching_torchvision',
                                                  SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('torch_version, vision', [
    ('2.14.1', '0.29.*'),
    ('2.14.1+cu130', '0.29.*'),
    ('2.13.0+cpu', '0.28.*'),
    ('2.9.1', '0.24.*'),
    ('2.0.0', '0.15.*'),
    ('1.13.1', None),
    ('3.0.0', None),
    ('nightly', None),
])
def test_matching_torchvision(torch_version, vision):
    assert _module().matching_torchvision(torch_version) == vision


def test_installed_pair_follows_the_rule():
    import torch
    import torchvision
    wanted = _module().matching_torchvision(torch.__version__)
    assert wanted is not None, torch.__version__
    assert torchvision.__version__.startswith(wanted[:-1]), (
        torch.__version__, torchvision.__version__)
