# Copyright (c) mmtat contributors. All rights reserved.
"""What named modules of a network output, and what its recorders record,
found without training it."""
import contextlib
import itertools
import logging
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Sequence

import torch
from mmengine.logging import print_log
from torch import nn
from torch.func import functional_call

from mmtat.compat import changed_record_versions

__all__ = ['probe_module_outputs', 'probe_network', 'ProbeResult']


class ProbeResult(NamedTuple):
    """What one pass of :func:`probe_network` saw.

    Attributes:
        outputs: module name -> its first output (meta tensors after the
            cheap pass, real ones after the fallback).
        records: recorder name -> its first record, for the recorders
            given.
        changed_in_place: recorder name -> where its record was changed in
            place after it was recorded (``"'path' (what)"``: the
            module in whose own code it changed, and the layer's repr or
            "the forward code of <class>").
        real_forward: True if the cheap pass failed and the network was
            run for real on a zero input.
    """
    outputs: Dict[str, Any]
    records: Dict[str, Any]
    changed_in_place: Dict[str, str]
    real_forward: bool


def probe_module_outputs(model: nn.Module,
                         module_names: Sequence[str],
                         input_size: Sequence[int],
                         in_channels: int = 3) -> Dict[str, Any]:
    """The first output of each module in ``module_names`` in one pass of
    ``model`` (see :func:`probe_network`), for the modules that ran."""
    return probe_network(model, module_names, input_size,
                         in_channels).outputs


@contextlib.contextmanager
def _watch_in_place_changes(model: nn.Module, recorders: Dict[str, Any],
                            found: Dict[str, str]) -> Iterator[None]:
    """Name, for each recorder, the module in whose own code its record was
    changed after it was recorded.

    Records are checked whenever a module starts or finishes. A change seen
    when module M finishes happened inside M but not inside any module M
    ran (those finished before and were checked); a change seen when M
    starts happened in the code of the module that calls M. For MMCV's
    ConvModule this names its ``activate`` ReLU.
    """
    names = {id(module): name for name, module in model.named_modules()}
    running: List[nn.Module] = []

    def check(module: Optional[nn.Module]) -> None:
        for name, recorder in recorders.items():
            if name in found or module is None:
                continue
            if any(changed_record_versions(recorder, index) is not None
                   for index in range(len(recorder.data_buffer))):
                path = names.get(id(module)) or 'the network'
                # a layer's repr shows its in-place flag; a block's is long
                what = (repr(module) if not list(module.children()) else
                        f'the forward code of {type(module).__name__}')
                found[name] = f'{path!r} ({what})'

    def before_forward(module: nn.Module, args: Any) -> None:
        check(running[-1] if running else None)
        running.append(module)

    def after_forward(module: nn.Module, args: Any, output: Any) -> None:
        check(module)
        if running and running[-1] is module:
            running.pop()

    handles = [
        torch.nn.modules.module.register_module_forward_pre_hook(
            before_forward),
        torch.nn.modules.module.register_module_forward_hook(after_forward)
    ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def probe_network(model: nn.Module,
                  module_names: Sequence[str],
                  input_size: Sequence[int],
                  in_channels: int = 3,
                  recorders: Optional[Any] = None) -> ProbeResult:
    """Run ``model`` once on a dummy ``(1, in_channels, H, W)`` input; return
    the first output of each module in ``module_names``, the first record of
    each recorder of ``recorders`` (an initialised MMRazor
    ``RecorderManager`` of this model) and which records were changed in
    place after they were recorded.

    The pass runs in eval mode (BatchNorm of a batch of one and SyncBN
    without a process group must not train), without gradients, with the
    model's parameters and buffers replaced by tensors on the ``meta``
    device: only shapes are computed, in milliseconds, and nothing of the
    model (weights, running statistics, train/eval flags) changes. A model
    with an operation that has no meta kernel is run once for real instead,
    which is logged. In-place changes show on the meta device too (version
    counters count there as well).

    The model is called as OpenMMLab models are, ``model(inputs,
    mode='tensor')`` (MMSegmentation: backbone, neck and decode head, not the
    auxiliary heads, which only run in ``'loss'`` mode).

    Args:
        model (nn.Module): the network.
        module_names (Sequence[str]): names from ``model.named_modules()``.
        input_size (Sequence[int]): ``(H, W)`` of the input.
        in_channels (int): channels of the input. Defaults to 3.
        recorders (RecorderManager, optional): recorders hooked into
            ``model``; they record during the pass and are emptied after.

    Returns:
        ProbeResult: outputs, records, in-place changes, whether the real
        forward was needed.
    """
    modules = dict(model.named_modules())
    outputs: Dict[str, Any] = {}
    handles: List[Any] = []
    for name in dict.fromkeys(module_names):

        def record(module, args, output, name=name):
            outputs.setdefault(name, output)

        handles.append(modules[name].register_forward_hook(record))
    watched = dict(recorders.recorders) if recorders is not None else {}
    changed: Dict[str, str] = {}
    flags = {module: module.training for module in model.modules()}
    height, width = int(input_size[0]), int(input_size[1])
    # re-entrant: the fallback records again from empty buffers
    recording = recorders or contextlib.nullcontext()
    real_forward = False
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
                with recording, _watch_in_place_changes(
                        model, watched, changed):
                    functional_call(model, state, (inputs, ),
                                    dict(mode='tensor'))
            except Exception as err:
                outputs.clear()
                changed.clear()
                real_forward = True
                print_log(
                    f'{type(model).__name__}: the shape-only pass on the meta '
                    f'device failed ({type(err).__name__}: '
                    f'{str(err).splitlines()[0] if str(err) else ""}); '
                    f'running the network once for real on a {height}x'
                    f'{width} zero input instead.',
                    logger='current',
                    level=logging.INFO)
                device = next(
                    itertools.chain(model.parameters(), model.buffers()),
                    torch.empty(0)).device
                with recording, _watch_in_place_changes(
                        model, watched, changed):
                    model(
                        torch.zeros(1, in_channels, height, width,
                                    device=device),
                        mode='tensor')
    finally:
        for handle in handles:
            handle.remove()
        for module, training in flags.items():
            module.training = training
    records = {
        name: recorder.data_buffer[0]
        for name, recorder in watched.items() if recorder.data_buffer
    }
    for recorder in watched.values():
        recorder.reset_data_buffer()
    return ProbeResult(outputs, records, changed, real_forward)
