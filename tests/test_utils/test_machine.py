import os

import torch

from mmtat.utils import machine_info


def test_machine_info_names_the_machine_and_the_device():
    info = machine_info('cpu')
    assert info['device'] == 'cpu'
    assert info['cpu_count'] == os.cpu_count()
    assert 1 <= info['usable_cores'] <= info['cpu_count']
    assert info['torch'] == torch.__version__
    assert info['torch_threads'] == torch.get_num_threads()
    assert info['cuda_available'] == torch.cuda.is_available()
    assert info['cpu'] and info['date'][:2] == '20'
    # GPU facts only when the GPU is what was measured
    assert 'gpu' not in info


def test_machine_info_on_cuda_names_the_gpu():
    if not torch.cuda.is_available():
        assert 'gpu' not in machine_info('cuda')
        return
    info = machine_info('cuda')
    assert info['gpu'] == torch.cuda.get_device_name(0)
    assert info['cuda'] == torch.version.cuda
