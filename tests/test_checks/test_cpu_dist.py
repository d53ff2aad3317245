"""mmtat.checks.cpu_dist: what tools/train.py changes for DDP without CUDA
(the two-process run itself is tests/test_tools/test_dist_train.py)."""
import pytest
import torch
from mmengine.config import Config

from mmtat.checks import (
    cpu_dist,
    cpu_distributed_problem,
    end_distributed,
    setup_cpu_distributed,
)
from mmtat.utils import InputError


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    # the process group is "already there": nothing is initialised here
    monkeypatch.setattr(cpu_dist.torch_dist, 'is_initialized', lambda: True)


def cfg_with(**kwargs):
    base = dict(launcher='pytorch', env_cfg=dict(dist_cfg=dict(
        backend='gloo')))
    base.update(kwargs)
    return Config(base)


def test_not_distributed_or_cuda_leaves_the_config(monkeypatch):
    cfg = cfg_with(launcher='none')
    assert setup_cpu_distributed(cfg) is False
    assert 'model_wrapper_cfg' not in cfg
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    cfg = cfg_with()
    assert setup_cpu_distributed(cfg) is False
    assert 'model_wrapper_cfg' not in cfg


def test_cpu_ddp_wrapper_has_no_device_ids(no_cuda):
    cfg = cfg_with(find_unused_parameters=True)
    assert setup_cpu_distributed(cfg) is True
    assert cfg.model_wrapper_cfg == dict(
        type='MMDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=True,
        device_ids=None)
    # a wrapper of the config keeps its settings
    cfg = cfg_with(model_wrapper_cfg=dict(
        type='MMDistributedDataParallel', find_unused_parameters=False))
    setup_cpu_distributed(cfg)
    assert cfg.model_wrapper_cfg == dict(
        type='MMDistributedDataParallel',
        find_unused_parameters=False,
        device_ids=None)


def test_gpu_only_settings_are_refused_with_the_fix(no_cuda):
    with pytest.raises(InputError, match='env_cfg.dist_cfg.backend=gloo'):
        setup_cpu_distributed(
            cfg_with(env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    with pytest.raises(InputError, match='--launcher pytorch only'):
        setup_cpu_distributed(cfg_with(launcher='slurm'))


def test_problem_is_named_before_anything_is_set_up(no_cuda):
    assert cpu_distributed_problem(cfg_with()) is None
    # no backend named: the CPU one
    assert cpu_distributed_problem(cfg_with(env_cfg=dict())) is None
    assert cpu_distributed_problem(cfg_with(launcher='none')) is None
    problem = cpu_distributed_problem(
        cfg_with(env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    assert problem.startswith("env_cfg.dist_cfg.backend = 'nccl': this "
                              'distributed backend needs CUDA')


def test_no_problem_where_cuda_is_available(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    assert cpu_distributed_problem(
        cfg_with(env_cfg=dict(dist_cfg=dict(backend='nccl')))) is None


def test_end_distributed_destroys_the_group_after_its_work(tmp_path):
    dist = cpu_dist.torch_dist
    assert not dist.is_initialized()
    end_distributed()  # no group: nothing to do
    dist.init_process_group('gloo', init_method=f'file://{tmp_path}/init',
                            rank=0, world_size=1)
    try:
        total = torch.ones(3)
        dist.all_reduce(total)
        end_distributed()
        assert not dist.is_initialized()
        assert total.tolist() == [1.0, 1.0, 1.0]
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
