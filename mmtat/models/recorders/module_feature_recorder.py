# Copyright (c) mmtat contributors. All rights reserved.
"""Record a module's feature map, or the map before its final activation."""
import weakref
from typing import Any, Callable, Optional, Tuple

from mmrazor.models.task_modules.recorder import ModuleOutputsRecorder
from mmrazor.registry import TASK_UTILS
from torch import Tensor, nn

__all__ = ['ModuleFeatureRecorder', 'final_activation']


def final_activation(module: nn.Module, path: str) -> Tuple[str, nn.Module]:
    """``(path, layer)`` of the activation layer that ends ``module``.

    MMCV's ``ConvModule`` (and modules like it) keeps its activation as
    ``activate``; a container ends with its last child. The caller checks
    on a real forward pass that this layer's output is the module's output.

    Raises:
        ValueError: ``module`` ends with no activation layer.
    """
    where = path
    while True:
        act = getattr(module, 'activate', None)
        if isinstance(act, nn.Module) and getattr(module, 'with_activation',
                                                  True):
            order = getattr(module, 'order', None)
            if order is not None and tuple(order)[-1] != 'act':
                raise ValueError(
                    f'pre_activation: {path!r} is a conv module with '
                    f'order={tuple(order)}, so its activation is not its '
                    'last operation; name the layer to record instead.')
            return f'{path}.activate', act
        children = list(module.named_children())
        if not children:
            raise ValueError(
                f'pre_activation: {where!r} ends with no activation layer '
                f'(its last layer is {path!r}, a {type(module).__name__}); '
                'drop pre_activation, or name the layer to record.')
        name, module = children[-1]
        path = f'{path}.{name}'


@TASK_UTILS.register_module()
class ModuleFeatureRecorder(ModuleOutputsRecorder):
    """Record the output of a module, as a copy when asked, or the map that
    enters the module's final activation.

    MMRazor's ``ModuleOutputsRecorder`` keeps the tensor a module returned,
    so an in-place operation that follows (MMCV's ``ConvModule`` applies
    ``ReLU(inplace=True)`` right after its norm layer) changes the record
    before a loss reads it. This recorder can keep a copy instead, and can
    record the pre-activation map of a conv module: a forward pre-hook on
    the module's final activation layer sees its input before an in-place
    activation overwrites it (copied only when the activation works in
    place). If the hooked layer is replaced after the recorder was set up
    (mmengine's ``revert_sync_batchnorm`` swaps SyncBN layers for new
    BatchNorm objects), the hook moves to the layer now at that path when
    recording starts.
    Reading a record that changed in place after it was recorded raises
    (:mod:`mmtat.compat.recorded_tensors`). Config type: ``'ModuleFeature'``.

    Args:
        source (str): Path of the module in ``model.named_modules()``.
        pre_activation (bool): Record the input of the module's final
            activation layer (:func:`final_activation`; for a conv module
            the norm layer's output) instead of the module's output.
            Defaults to False.
        copy (bool): Record a copy (``clone``, differentiable) of the
            module's output, for an output that an in-place operation
            changes later. Unused with ``pre_activation``. Defaults to
            False.
    """

    def __init__(self, source: str, pre_activation: bool = False,
                 copy: bool = False) -> None:
        super().__init__(source)
        self.pre_activation = bool(pre_activation)
        self.copy = bool(copy)
        #: path of the hooked activation layer (``pre_activation`` only)
        self.activation_path: Optional[str] = None

    def prepare_from_model(self, model: Optional[nn.Module] = None) -> None:
        """Hook the source module (or its final activation layer)."""
        if model is None:
            raise ValueError('ModuleFeatureRecorder needs the model')
        modules = dict(model.named_modules())
        if self.source not in modules:
            raise ValueError(f'{self.source!r} is not a module of the model')
        self._model = weakref.ref(model)
        if not self.pre_activation:
            self._hook(self.source, self.forward_hook, pre=False)
            return
        self.activation_path, activation = final_activation(
            modules[self.source], self.source)
        copy = bool(getattr(activation, 'inplace', False))

        def before_activation(layer: nn.Module, inputs: Tuple) -> None:
            feature = inputs[0]
            if copy and isinstance(feature, Tensor):
                feature = feature.clone()
            # through the (version-checked) output hook of the base class
            ModuleOutputsRecorder.forward_hook(self, layer, inputs, feature)

        self._hook(self.activation_path, before_activation, pre=True)

    def _hook(self, path: str, hook: Callable, pre: bool) -> None:
        layer = self._model().get_submodule(path)
        register = (layer.register_forward_pre_hook
                    if pre else layer.register_forward_hook)
        self._hooked = (path, layer, hook, pre, register(hook))

    def __enter__(self) -> None:
        super().__enter__()
        model = self._model() if hasattr(self, '_model') else None
        if model is None:
            return
        path, layer, hook, pre, handle = self._hooked
        if model.get_submodule(path) is not layer:
            handle.remove()
            self._hook(path, hook, pre)

    def forward_hook(self, module: nn.Module, inputs: Tuple,
                     outputs: Any) -> None:
        """Save the module's output (a copy with ``copy=True``)."""
        if self.copy and isinstance(outputs, Tensor):
            outputs = outputs.clone()
        super().forward_hook(module, inputs, outputs)
