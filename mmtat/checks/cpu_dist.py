"""Distributed (DDP) training on machines without CUDA.

mmengine 0.10's Runner assumes GPUs as soon as a launcher is given:

* ``init_dist('pytorch')`` calls ``torch.cuda.set_device(LOCAL_RANK)``
  before creating the process group, which fails on a CPU-only torch;
* ``Runner.wrap_model`` passes ``device_ids=[LOCAL_RANK]`` to
  ``MMDistributedDataParallel``, which torch refuses for a module on the CPU.

:func:`setup_cpu_distributed` is called by ``tools/train.py`` before the
Runner is built.  Where CUDA is available it does nothing.  Otherwise, for
``--launcher pytorch`` (torchrun / ``tools/dist_train.sh``), it creates the
gloo process group itself (the Runner then skips ``init_dist``) and asks for
``device_ids=None`` in ``model_wrapper_cfg``.  This is for smoke tests and
CI, e.g. ``python -m torch.distributed.run --nproc_per_node 2
tools/train.py CONFIG --launcher pytorch --cfg-options
env_cfg.dist_cfg.backend=gloo``; note that SyncBN needs GPUs, so the model's
``norm_cfg`` must be plain BN there.  ``tools/test.py`` does the same for a
distributed evaluation.
"""
import datetime
import gc
from typing import Any, Optional

import torch
import torch.distributed as torch_dist

from ..utils.errors import InputError

__all__ = ['setup_cpu_distributed', 'cpu_distributed_problem',
           'end_distributed']


def _backend(cfg: Any) -> str:
    dist_cfg = cfg.get('env_cfg', {}).get('dist_cfg', {}) or {}
    # no backend named: the CPU one (mmengine's default, NCCL, cannot work)
    return dist_cfg.get('backend', 'gloo')


def cpu_distributed_problem(cfg: Any) -> Optional[str]:
    """What stops ``cfg``'s distributed run on this machine, if it has no
    CUDA: a launcher other than ``pytorch``, or a backend other than
    ``gloo``.  None when there is nothing wrong (or CUDA is available)."""
    launcher = cfg.get('launcher', 'none') or 'none'
    if launcher == 'none' or torch.cuda.is_available():
        return None
    if launcher != 'pytorch':
        return ('Distributed training without CUDA is supported with '
                f'--launcher pytorch only (torchrun, tools/dist_train.sh), '
                f'got --launcher {launcher}.')
    backend = _backend(cfg)
    if backend != 'gloo':
        return (f'env_cfg.dist_cfg.backend = {backend!r}: this distributed '
                'backend needs CUDA, which this machine does not have '
                f'(torch {torch.__version__} sees no GPU). Use the CPU '
                'backend with --cfg-options env_cfg.dist_cfg.backend=gloo '
                '(and BN instead of SyncBN in the model\'s norm_cfg).')
    return None


def setup_cpu_distributed(cfg: Any) -> bool:
    """Prepare ``cfg`` (and the process group) for DDP on the CPU.

    Args:
        cfg: the run's config, with ``cfg.launcher`` already set.

    Returns:
        True if this is a CPU distributed run and it was set up, False if
        there was nothing to do (not distributed, or CUDA is available).

    Raises:
        InputError: for a launcher other than ``pytorch`` or a backend
            other than ``gloo`` without CUDA
            (:func:`cpu_distributed_problem`).
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available():
        return False
    problem = cpu_distributed_problem(cfg)
    if problem is not None:
        raise InputError(problem)
    dist_cfg = dict(cfg.get('env_cfg', {}).get('dist_cfg', {}) or {})
    backend = dist_cfg.pop('backend', _backend(cfg))
    if not torch_dist.is_initialized():
        timeout = dist_cfg.pop('timeout', None)
        if timeout is not None:
            dist_cfg['timeout'] = datetime.timedelta(seconds=timeout)
        # RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT come from torchrun.
        torch_dist.init_process_group(backend=backend, **dist_cfg)
    wrapper_cfg = cfg.get('model_wrapper_cfg', None)
    if wrapper_cfg is None:
        # What Runner.wrap_model builds by default, minus the GPU index.
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel',
            broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False),
            device_ids=None)
    else:
        # Runner.wrap_model only fills device_ids in when it is absent.
        wrapper_cfg.setdefault('device_ids', None)
    return True


def end_distributed() -> None:
    """Tear the process group down in order at the end of a run whose ranks
    all finished (trained to the end, or stopped at the same iteration).

    Left to the interpreter's exit, the gloo group of torch 2.13 is
    destroyed with its threads still running, and the process can abort
    ("terminate called without an active exception", exit -6) after a
    complete run.  Its owners go first: the caller drops the Runner (the
    DDP reducer holds the group; freed after the group is destroyed, it can
    deadlock in gloo's destructor), this collects them, and the barrier
    waits for every rank's pending work before the group is destroyed.
    Does nothing when no process group exists.
    """
    if not (torch_dist.is_available() and torch_dist.is_initialized()):
        return
    gc.collect()
    torch_dist.barrier()
    torch_dist.destroy_process_group()
