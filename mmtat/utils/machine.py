"""What a benchmark reports about the machine it ran on."""
import os
import platform
from datetime import datetime
from typing import Any, Dict


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or 'unknown'


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity where known)."""
    if hasattr(os, 'sched_getaffinity'):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def machine_info(device: str) -> Dict[str, Any]:
    """The machine a benchmark ran on, for its report: CPU, cores, Python,
    torch and its threads, the device measured, the date, and on CUDA the
    GPU, its compute capability and the CUDA / cuDNN versions."""
    import torch
    info: Dict[str, Any] = dict(
        cpu=cpu_model(),
        cpu_count=os.cpu_count(),
        usable_cores=usable_cores(),
        torch_threads=torch.get_num_threads(),
        python=platform.python_version(),
        torch=torch.__version__,
        cuda_available=torch.cuda.is_available(),
        device=device,
        date=datetime.now().strftime('%Y-%m-%d %H:%M'))
    if device == 'cuda' and torch.cuda.is_available():
        info.update(
            gpu=torch.cuda.get_device_name(0),
            capability='.'.join(map(str,
                                    torch.cuda.get_device_capability(0))),
            cuda=torch.version.cuda,
            cudnn=torch.backends.cudnn.version())
    return info
