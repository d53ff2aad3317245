"""Pre-flight check of ``--launcher``: a process of a distributed run must
have been started by its launcher, and its backend must fit the machine.

``--launcher pytorch`` (``slurm``, ``mpi``) tells a tool that it is one
process of several, started by torchrun (srun, mpirun), which put the
rank, the world size and the rendezvous address into its environment.
Started by hand, mmengine fails deep in ``init_dist`` with a ``KeyError``
or a rendezvous error; on a machine without CUDA, the NCCL backend of
MMSegmentation's configs fails in ``torch.cuda.set_device``.
:func:`check_launcher` says what is missing and how to start the run, before
anything is built.
"""
import os
from dataclasses import dataclass
from typing import Any, Dict, Tuple

from ..utils.errors import InputError
from .cpu_dist import cpu_distributed_problem

__all__ = ['LAUNCHERS', 'Launcher', 'check_launcher']


@dataclass(frozen=True)
class Launcher:
    """What a ``--launcher`` value expects of the process's environment.

    Attributes:
        starter: the program that starts the processes.
        environment: the variables it sets that mmengine reads.
        commands: tool -> the command lines that start it that way.
    """
    starter: str
    environment: Tuple[str, ...]
    commands: Dict[str, str]


LAUNCHERS: Dict[str, Launcher] = {
    'pytorch': Launcher(
        starter='torchrun (python -m torch.distributed.run)',
        environment=('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'),
        commands=dict(
            train='bash tools/dist_train.sh CONFIG N [options] (N '
            'processes on this machine), or python -m '
            'torch.distributed.run --nproc_per_node N tools/train.py '
            'CONFIG --launcher pytorch [options]',
            test='bash tools/dist_test.sh CONFIG CHECKPOINT N [options], or '
            'python -m torch.distributed.run --nproc_per_node N '
            'tools/test.py CONFIG CHECKPOINT --launcher pytorch [options]')),
    'slurm': Launcher(
        starter='srun',
        environment=('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST'),
        commands=dict(
            train='GPUS=N bash tools/slurm_train.sh PARTITION JOB_NAME '
            'CONFIG [options]',
            test='srun -p PARTITION --ntasks N python -u tools/test.py '
            'CONFIG CHECKPOINT --launcher slurm [options]')),
    'mpi': Launcher(
        starter='mpirun',
        environment=('OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE',
                     'OMPI_COMM_WORLD_LOCAL_RANK', 'MASTER_ADDR'),
        commands=dict(
            train='MASTER_ADDR=HOST mpirun -np N python tools/train.py '
            'CONFIG --launcher mpi [options]',
            test='MASTER_ADDR=HOST mpirun -np N python tools/test.py CONFIG '
            'CHECKPOINT --launcher mpi [options]')),
}


def check_launcher(cfg: Any, tool: str = 'train') -> None:
    """Refuse a distributed run that its launcher did not start, or whose
    backend needs CUDA on a machine without it.

    Args:
        cfg: the run's config, with ``cfg.launcher`` set.
        tool: ``'train'`` or ``'test'`` (for the command to suggest).

    Raises:
        InputError: naming the missing variables and the command that
            starts the run, or the backend and the ``--cfg-options`` for
            the CPU one.
    """
    name = cfg.get('launcher', 'none') or 'none'
    if name == 'none':
        return
    launcher = LAUNCHERS.get(name)
    if launcher is not None:
        missing = [v for v in launcher.environment if v not in os.environ]
        if missing:
            raise InputError(
                f'--launcher {name} runs this process as one of a '
                f'distributed run that {launcher.starter} starts, with '
                f'{", ".join(launcher.environment)} in each process\'s '
                f'environment; this process lacks {", ".join(missing)}, so '
                f'it was not started that way. Start the run with '
                f'{launcher.commands[tool]}; for a single process, leave '
                '--launcher out. Nothing was started.')
    problem = cpu_distributed_problem(cfg)
    if problem is not None:
        raise InputError(problem + ' Nothing was started.')
