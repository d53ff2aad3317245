"""mmtat.checks.launcher: a distributed run's process must come with its
launcher's environment, and without CUDA with the gloo backend."""
import pytest
import torch
from mmengine.config import Config

from mmtat.checks import LAUNCHERS, check_launcher
from mmtat.utils import InputError


@pytest.fixture
def bare_env(monkeypatch):
    for launcher in LAUNCHERS.values():
        for name in launcher.environment:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    return monkeypatch


def _cfg(launcher, backend='gloo'):
    return Config(dict(launcher=launcher,
                       env_cfg=dict(dist_cfg=dict(backend=backend))))


def test_single_process_needs_nothing(bare_env):
    check_launcher(_cfg('none', backend='nccl'))
    check_launcher(Config(dict()))


@pytest.mark.parametrize('name', sorted(LAUNCHERS))
def test_each_launcher_names_what_is_missing(bare_env, name):
    with pytest.raises(InputError) as err:
        check_launcher(_cfg(name), tool='test')
    message = str(err.value)
    launcher = LAUNCHERS[name]
    assert f'this process lacks {", ".join(launcher.environment)}' in message
    assert launcher.commands['test'] in message
    # with the environment present, only the CPU backend rule is left
    for variable in launcher.environment:
        bare_env.setenv(variable, '1')
    if name == 'pytorch':
        check_launcher(_cfg(name))
    else:
        with pytest.raises(InputError, match='--launcher pytorch only'):
            check_launcher(_cfg(name))


def test_partial_environment_names_the_missing_part(bare_env):
    bare_env.setenv('RANK', '0')
    bare_env.setenv('WORLD_SIZE', '2')
    with pytest.raises(InputError, match='this process lacks MASTER_ADDR, '
                       'MASTER_PORT, so it was not started that way'):
        check_launcher(_cfg('pytorch'))
