# Copyright (c) mmtat contributors. All rights reserved.
"""What named modules of a network output, found without training it."""
import itertools
from typing import Any, Dict, List, Sequence

import torch
from torch import nn
from torch.func import functional_call

__all__ = ['probe_module_outputs']


def probe_module_outputs(model: nn.Module,
                         module_names: Sequence[str],
                         input_size: Sequence[int],
                         in_channels: int = 3) -> Dict[str, Any]:
    """Run ``model`` once on a dummy ``(1, in_channels, H, W)`` input and
    return the first output of each module in ``module_names``.

    The pass runs in eval mode (BatchNorm of a batch of one and SyncBN
    without a process group must not train), without gradients, with the
    model's parameters and buffers replaced by tensors on the ``meta``
    device: only shapes are computed, in milliseconds, and nothing of the
    model (weights, running statistics, train/eval flags) changes. A model
    with an operation that has no meta kernel is run once for real instead.

    The model is called as OpenMMLab models are, ``model(inputs,
    mode='tensor')`` (MMSegmentation: backbone, neck and decode head, not the
    auxiliary heads, which only run in ``'loss'`` mode).

    Args:
        model (nn.Module): the network.
        module_names (Sequence[str]): names from ``model.named_modules()``.
        input_size (Sequence[int]): ``(H, W)`` of the input.
        in_channels (int): channels of the input. Defaults to 3.

    Returns:
        dict: name -> output (tensors on the meta device, or real ones),
        for the modules that ran.
    """
    modules = dict(model.named_modules())
    outputs: Dict[str, Any] = {}
    handles: List[Any] = []
    for name in dict.fromkeys(module_names):

        def record(module, args, output, name=name):
            outputs.setdefault(name, output)

        handles.append(modules[name].register_forward_hook(record))
    flags = {module: module.training for module in model.modules()}
    height, width = int(input_size[0]), int(input_size[1])
    model.eval()
    try:
        with torch.no_grad():
            try:
                state = {
                    key: torch.empty_like(value, device='meta')
                    for key, value in itertools.chain(
                        model.named_parameters(), model.named_buffers())
                }
                inputs = torch.zeros(
                    1, in_channels, height, width, device='meta')
                functional_call(model, state, (inputs, ),
                                dict(mode='tensor'))
            except Exception:
                outputs.clear()
                device = next(
                    itertools.chain(model.parameters(), model.buffers()),
                    torch.empty(0)).device
                model(
                    torch.zeros(1, in_channels, height, width, device=device),
                    mode='tensor')
    finally:
        for handle in handles:
            handle.remove()
        for module, training in flags.items():
            module.training = training
    return outputs
