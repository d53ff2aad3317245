"""A recorded tensor changed in place before a loss reads it is an error.

Affects: mmrazor 1.0.0 (no upstream report found; MMRazor 1.0.0 is its last
release).  ``ModuleOutputsRecorder`` stores the tensor a module returned,
without a copy; when the next layer works in place (MMCV's ``ConvModule``
runs ``ReLU(inplace=True)`` right after its norm layer) the stored tensor is
changed before any loss reads it, and the loss silently gets the
post-activation values.  ``ModuleInputsRecorder`` stores the inputs *after*
the module ran, so an in-place module (a ReLU) has already changed them.

Why process-wide: the failure is silent (a distillation loss on the wrong
map, in MMRazor's own configs too, e.g. CWD or FitNets on a ConvModule's
norm layer), so every record of these two recorders (and of their
subclasses, mmtat's ``ModuleFeatureRecorder`` included) now remembers the
version counter of each tensor it holds (for inputs: as they were before the
module ran), and reading a record whose tensors changed since raises
:class:`RecordChangedInPlace`, naming the recorder's source and the fixes.
Nothing changes for a record that stays as recorded.  Inference-mode
tensors have no version counter and are not checked.  Cost: one integer per
recorded tensor.  This module is the one place where in-place changes of
records are detected; ``mmtat.models.utils.feature_probe`` uses
:func:`changed_record_versions` to find, before training, where a change
happens, and ``TaTDistiller`` then records a copy.
"""
from typing import Any, List

import torch

__all__ = [
    'RecordChangedInPlace', 'tensor_versions', 'changed_record_versions',
    'guard_mmrazor_recorders'
]


class RecordChangedInPlace(RuntimeError):
    """A recorded tensor was changed in place after it was recorded."""


def _tensors(data: Any) -> List[torch.Tensor]:
    """The tensors of a record (a tensor, or tuples / lists / dicts)."""
    if isinstance(data, torch.Tensor):
        return [data]
    if isinstance(data, (tuple, list)):
        return [t for item in data for t in _tensors(item)]
    if isinstance(data, dict):
        return [t for item in data.values() for t in _tensors(item)]
    return []


def tensor_versions(data: Any) -> List[Any]:
    """Version counters of the tensors in ``data`` (None for inference
    tensors, which have none)."""
    return [None if t.is_inference() else t._version for t in _tensors(data)]


def changed_record_versions(recorder: Any, record_idx: int) -> Any:
    """``(before, after)`` version of a tensor of record ``record_idx``
    that changed in place since it was recorded, else None."""
    versions = getattr(recorder, '_mmtat_versions', None)
    if not versions or record_idx >= len(versions):
        return None
    before = versions[record_idx]
    if before is None:
        return None
    after = tensor_versions(recorder.data_buffer[record_idx])
    for old, new in zip(before, after):
        if old is not None and new is not None and old != new:
            return old, new
    return None


def _changed_in_place_message(recorder: Any, versions: Any) -> str:
    kind = type(recorder).__name__
    what = 'inputs' if kind.startswith('ModuleInputs') else 'output'
    return (
        f'{kind} of {recorder.source!r}: the recorded {what} was changed in '
        f'place after it was recorded (tensor version {versions[0]} -> '
        f'{versions[1]}), e.g. by an in-place activation such as MMCV '
        "ConvModule's ReLU(inplace=True) right after its norm layer; the "
        'loss would silently read the changed values. Record a module '
        "after the in-place operation, or a copy: TaTDistiller's "
        "dict(module=..., pre_activation=True) for the map before a conv "
        "module's activation, or an mmtat recorder dict(type="
        "'ModuleFeature', source=..., copy=True); or build that "
        "activation with inplace=False.")


def guard_mmrazor_recorders() -> None:
    from mmrazor.models.task_modules.recorder import (
        ModuleInputsRecorder,
        ModuleOutputsRecorder,
    )
    from mmrazor.models.task_modules.recorder.base_recorder import BaseRecorder
    if getattr(BaseRecorder, '__mmtat_guarded__', False):
        return
    reset = BaseRecorder.reset_data_buffer
    get_record_data = BaseRecorder.get_record_data

    def reset_data_buffer(self) -> None:
        reset(self)
        self._mmtat_versions = []

    def checked_get_record_data(self, record_idx: int = 0,
                                data_idx: Any = None) -> Any:
        changed = changed_record_versions(self, record_idx)
        if changed is not None:
            raise RecordChangedInPlace(
                _changed_in_place_message(self, changed))
        return get_record_data(self, record_idx, data_idx)

    def versioned(hook: Any, pending: bool) -> Any:

        def forward_hook(self, module: Any, inputs: Any,
                         outputs: Any) -> None:
            before = len(self.data_buffer)
            hook(self, module, inputs, outputs)
            if len(self.data_buffer) == before:
                return
            record = self.data_buffer[-1]
            versions = None
            if pending:
                # the inputs' versions before the module ran (pre-hook)
                versions = self.__dict__.pop('_mmtat_pending', None)
            if versions is None:
                versions = tensor_versions(record)
            if not hasattr(self, '_mmtat_versions'):
                self._mmtat_versions = []
            # a record of a subclass that skipped earlier ones: pad
            while len(self._mmtat_versions) < len(self.data_buffer) - 1:
                self._mmtat_versions.append(None)
            self._mmtat_versions.append(versions)

        forward_hook.__wrapped__ = hook
        forward_hook.__doc__ = hook.__doc__
        return forward_hook

    prepare_inputs = ModuleInputsRecorder.prepare_from_model

    def prepare_from_model(self, model: Any = None) -> None:
        prepare_inputs(self, model)

        def remember(module: Any, inputs: Any) -> None:
            if self.recording:
                self._mmtat_pending = tensor_versions(inputs)

        for name, module in model.named_modules():
            if name == self.source:
                module.register_forward_pre_hook(remember)
                break

    BaseRecorder.reset_data_buffer = reset_data_buffer
    BaseRecorder.get_record_data = checked_get_record_data
    ModuleOutputsRecorder.forward_hook = versioned(
        ModuleOutputsRecorder.forward_hook, pending=False)
    ModuleInputsRecorder.forward_hook = versioned(
        ModuleInputsRecorder.forward_hook, pending=True)
    ModuleInputsRecorder.prepare_from_model = prepare_from_model
    BaseRecorder.__mmtat_guarded__ = True
