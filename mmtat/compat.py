"""Every workaround mmtat needs to run the OpenMMLab stack on current torch.

All of them are listed here, each with the reason and the upstream versions
it was written for; all but fix 7 are applied by :func:`apply` when
``mmtat`` is imported (``import mmtat`` must therefore come before the
first ``import mmrazor``; ``tools/*.py`` and
``custom_imports=dict(imports=['mmtat'])`` do that).  Fixes 1, 2, 5, 6,
7, 8 and 9 live in this module; 3 and 4 must act before mmtat can be imported
and live in ``_mmtat_startup`` (see the end of this list).  No installed
file is edited: the fixes act on the running interpreter only.

Fixes
-----
1. **MMRazor quantization stand-in** (mmrazor 1.0.0, torch >= 2.1).
   ``import mmrazor.models`` imports ``mmrazor.structures.quantization``,
   which builds torch.ao backend configs at import time from torch.ao
   internals that later torch releases removed or renamed
   (``fuser_method_mappings.reverse2``, ``backend_config.utils`` helpers,
   ...), so the import of *all* of MMRazor fails, distillation included.
   mmtat does not use quantization, so before MMRazor is first imported an
   inert module is put in ``sys.modules`` under that name.  Importing names
   from it works (MMRazor's quantizers do so at import time); *using* any of
   them raises :class:`MMRazorQuantizationUnavailable` with this reason.

2. **mmengine checkpoints under weights-only torch.load** (mmengine 0.10.x,
   torch >= 2.6).  torch 2.6 made ``weights_only=True`` the default of
   ``torch.load``; mmengine calls it with the default, so ``--resume`` and
   ``load_from`` fail on the objects mmengine itself writes into a checkpoint
   ("Unsupported global: mmengine.logging.history_buffer.HistoryBuffer", then
   numpy arrays and dtypes of the message hub).  Rather than switching the
   weights-only unpickler off, exactly those types are allowed, and only
   while mmengine loads a checkpoint: ``CheckpointLoader.load_checkpoint``
   (behind ``load_checkpoint``, ``Runner.resume``, ``load_from``, MMRazor's
   ``teacher_ckpt``) runs inside :func:`mmengine_checkpoint_globals`, which
   wraps ``torch.serialization.safe_globals``.  Every other ``torch.load`` of
   the process behaves as torch ships it; any other global in a checkpoint
   is still refused.  ``HistoryBuffer`` pickles its statistics methods as
   ``getattr(HistoryBuffer, 'mean')``, so the name ``builtins.getattr`` is
   bound to a getattr that returns only ``HistoryBuffer.min``, ``max``,
   ``current`` and ``mean`` (a fixed set: class state that a checkpoint
   could change is not consulted).  ``HistoryBuffer.__setstate__`` copies
   the checkpoint's name -> method table into the class-wide
   ``_statistics_methods``; the context restores that table afterwards, so
   a loaded checkpoint cannot add or replace statistics for the process.
   The ``(callable, name)`` allow-list entries need torch >= 2.6, the range
   ``setup.py`` declares.

3. **mmengine without pkg_resources** (mmengine 0.10.x, setuptools >= 81).
   mmengine finds installed packages (``mmseg::`` base configs,
   ``mmengine.hub``) with ``pkg_resources``, which setuptools 81 removed;
   torch >= 2.9 requires a recent setuptools, so ``Config.fromfile`` of any
   config inheriting ``mmseg::...`` failed with "No module named
   'pkg_resources'".  Where ``pkg_resources`` cannot be imported,
   mmengine's ``is_installed`` / ``get_installed_path`` are replaced by
   equivalents built on ``importlib.metadata``.

4. **mmtat:: configs** (mmengine 0.10.x).  mmengine resolves ``pkg::`` bases
   only for the packages in ``mmengine.config.utils.MODULE2PACKAGE``;
   ``mmtat`` is added there, a misspelt ``mmtat::`` path gets the closest
   shipped configs, and an ``mmtat::`` base is read as the file itself (no
   ``_scope_='mmtat'``: mmtat registers into MMRazor and has no registry).

5. **MMRazor recorders keep what an in-place operation later changes**
   (mmrazor 1.0.0).  ``ModuleOutputsRecorder`` stores the tensor a module
   returned, without a copy; when the next layer works in place (MMCV's
   ``ConvModule`` runs ``ReLU(inplace=True)`` right after its norm layer)
   the stored tensor is changed before any loss reads it, and the loss
   silently gets the post-activation values.  ``ModuleInputsRecorder``
   stores the inputs *after* the module ran, so an in-place module (a
   ReLU) has already changed them.  Every record of these two recorders
   (and of their subclasses, mmtat's :class:`ModuleFeatureRecorder`
   included) now remembers the version counter of each tensor it holds
   (for inputs: as they were before the module ran), and reading a record
   whose tensors changed since raises :class:`RecordChangedInPlace`,
   naming the recorder's source and the fixes.  Inference-mode tensors
   have no version counter and are not checked.  Cost: one integer per
   recorded tensor.

6. **SyncBN -> BN drops the hooks of the replaced layers** (mmengine
   0.10.x).  A non-distributed ``Runner`` replaces every SyncBN module by a
   new ``_BatchNormXd`` object (``revert_sync_batchnorm``) after the model
   is built, i.e. after MMRazor's recorders hooked their modules; a
   recorder on a norm layer then records nothing and the first iteration
   fails with "record_idx is illegal".  The Runner's (and
   ``mmengine.model``'s) ``revert_sync_batchnorm`` now hands each replaced
   layer's hook tables (forward, forward-pre, backward) to its
   replacement, so hooks and their handles keep working.

7. **CPU BatchNorm backward with a strided size-1 batch** (torch 2.13,
   CPU).  ``batch_norm``'s CPU backward returns a wrong input gradient, with
   no error, for a contiguous input whose ``grad_output`` has channels-last
   strides and a size-1 batch dimension with a stride smaller than one
   image (exactly what the transposes of TaT's attention hand back for a
   batch, or a CPU step, of one image with one patch).  A stride of a
   size-1 dimension must not change any result; no upstream report was
   found.  :class:`ContiguousGrad` (identity forward, contiguous gradient
   backward) goes between TaT's embeddings and what consumes them;
   :func:`cpu_batch_norm_backward_is_wrong` reproduces the bug (a test
   checks that it does on torch 2.13, and that the guard is what makes a
   one-image gradient right wherever it does).  Not applied globally: the
   loss calls it where the layout arises.

8. **The same config formatted with yapf up to four times** (mmengine
   0.10.x).  ``Config.pretty_text`` runs yapf over the whole config text on
   every call, and one ``Runner`` start calls it four times for an unchanged
   config (the message hub's runtime info, the logged ``Config:``, the
   config dumped into the work dir, ``RuntimeInfoHook``).  yapf is pure
   Python and a distillation config is long, so this was a noticeable part
   of every short run's start.  The
   ``FormatCode`` that ``mmengine.config.config`` calls now keeps its last
   few results, keyed by the exact source text and style: a repeated call
   returns the same text, a changed config is formatted anew.

9. **Every ``mmseg::`` base parses all of MMSegmentation's metafiles**
   (mmengine 0.10.x).  To resolve ``mmseg::_base_/...`` mmengine first
   looks the path up as a model name: ``config.utils._get_cfg_metainfo``
   reads the package's ``model-index.yml`` and every metafile it imports
   (about 50 YAML files for MMSegmentation) on each call, and only then falls
   back to the base file, so parsing one config with three ``mmseg::``
   bases read some 150 YAML files, most of ``Config.fromfile``'s time.  The
   index of a package (config name -> its first metafile entry, as mmengine
   builds it) is now built once per process and package; the lookup, its
   ``ValueError`` for a name that is not a model, and the entry returned
   (a copy) are mmengine's.  An installed package does not change under a
   running process.

Fixes 3 and 4 must hold before the first ``Config.fromfile``, which
MMSegmentation's own ``tools/train.py`` calls before anything imports mmtat
(a config's ``custom_imports`` run after its bases are resolved).  They live
in the top-level module ``_mmtat_startup`` (``_mmtat_startup.py`` in the
repository), which ``mmtat-startup.pth`` in site-packages loads when the
interpreter starts.  That costs one small import and a meta-path finder: it
imports neither torch nor mmengine, and patches ``mmengine.utils.
package_utils``, ``mmengine.config.utils`` and ``mmengine.config.config``
right after each is first imported.  :func:`apply` installs the same finder
and patches those already imported (a checkout used without installing).
Both act only on mmengine 0.10.x, whose internals they change: with another
installed mmengine the hook says so in one line and leaves it alone.

Not here: distributed training on CPUs (gloo) is a feature mmengine 0.10
lacks rather than a version breakage; it lives in
``mmtat/utils/cpu_dist.py`` and is applied by ``tools/train.py``.
"""
import contextlib
import copy
import importlib
import os
import pickle
import sys
import types
import warnings
from collections import OrderedDict
from typing import Any, Dict, Iterator, List

import torch

# Fixes 3 and 4 must act before mmtat can be imported, so their code is the
# top-level module that mmtat-startup.pth loads at interpreter start.  This
# is the one module of the package that imports it: apply() installs the
# same hook for a checkout used without installing it, and the helpers of
# fix 4 that the package also uses (mmtat.utils.package_files) are taken
# from here.
import _mmtat_startup
from _mmtat_startup import missing_config_message, shipped_configs

__all__ = [
    'apply', 'MMRazorQuantizationUnavailable', 'MMENGINE_SAFE_GLOBALS',
    'mmengine_checkpoint_globals', 'missing_config_message',
    'shipped_configs', 'RecordChangedInPlace', 'changed_record_versions',
    'tensor_versions', 'revert_sync_batchnorm_keeping_hooks',
    'ContiguousGrad', 'cpu_batch_norm_backward_is_wrong',
    'memoised_format_code', 'cached_cfg_metainfo'
]

_QUANT_MODULE = 'mmrazor.structures.quantization'
_QUANT_REASON = (
    'MMRazor quantization is not available with mmtat: mmrazor 1.0.0\'s '
    '`mmrazor.structures.quantization` imports torch.ao internals that '
    f'torch {torch.__version__} no longer has, and importing it breaks '
    '`import mmrazor.models` altogether. mmtat replaces that subpackage with '
    'an inert stand-in (see mmtat/compat.py) so that MMRazor distillation '
    'works; quantization needs a torch release that mmrazor 1.0.0 supports '
    '(torch <= 2.0) without mmtat imported.')


class MMRazorQuantizationUnavailable(RuntimeError):
    """Raised when anything from MMRazor's quantization stand-in is used."""


class _Unavailable:
    """Stand-in for one name of ``mmrazor.structures.quantization``.

    It can be imported and referenced, but calling, indexing or reading an
    attribute of it raises :class:`MMRazorQuantizationUnavailable`.
    """

    def __init__(self, name: str) -> None:
        object.__setattr__(self, '_name', name)

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise MMRazorQuantizationUnavailable(
            f'`{_QUANT_MODULE}.{self._name}` was used. {_QUANT_REASON}')

    __call__ = _fail
    __getitem__ = _fail
    __iter__ = _fail

    def __getattr__(self, item: str) -> Any:
        if item.startswith('__'):
            raise AttributeError(item)
        self._fail()

    def __repr__(self) -> str:
        return f'<unavailable {_QUANT_MODULE}.{self._name}>'


class _QuantizationStandIn(types.ModuleType):

    def __getattr__(self, name: str) -> Any:
        # dunder lookups (star-import's __all__, pickling, inspect) must keep
        # behaving like a normal module without that attribute.
        if name.startswith('__'):
            raise AttributeError(name)
        value = _Unavailable(name)
        setattr(self, name, value)
        return value


def _install_quantization_stand_in() -> None:
    if _QUANT_MODULE in sys.modules:
        # Either the stand-in is already there, or MMRazor was imported
        # before mmtat and its quantization did load on this torch.
        return
    stand_in = _QuantizationStandIn(
        _QUANT_MODULE, 'Inert stand-in installed by mmtat.compat. '
        + _QUANT_REASON)
    stand_in.__all__ = []  # star-imports take nothing from it
    stand_in.__path__ = []  # a package: submodules resolve to ImportError
    stand_in.__mmtat_stand_in__ = True
    sys.modules[_QUANT_MODULE] = stand_in


def _mmengine_safe_globals() -> List[Any]:
    import numpy as np
    from mmengine.logging.history_buffer import HistoryBuffer

    # numpy 2 moved numpy.core to numpy._core; pickles name whichever module
    # the writer had, so allow both spellings where they exist.
    multiarray_modules = []
    for path in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        try:
            with warnings.catch_warnings():
                # numpy 2 deprecates the numpy.core alias it still provides
                warnings.simplefilter('ignore', DeprecationWarning)
                module = importlib.import_module(path)
        except ImportError:
            continue
        multiarray_modules.append(module)
    safe: List[Any] = [HistoryBuffer, np.ndarray, np.dtype]
    for module in multiarray_modules:
        safe += [module._reconstruct, module.scalar]
    # numpy >= 1.25 pickles dtypes as instances of numpy.dtypes.*DType.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        for name in dir(dtypes):
            dtype_class = getattr(dtypes, name)
            if name.endswith('DType') and isinstance(dtype_class, type):
                safe.append(dtype_class)
    return safe


_HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` as seen by weights-only unpickling: HistoryBuffer only."""
    from mmengine.logging.history_buffer import HistoryBuffer
    if (obj is HistoryBuffer and isinstance(name, str)
            and name in _HISTORY_BUFFER_STATISTICS):
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'mmtat.compat: refusing getattr({obj!r}, {name!r}) while loading a '
        'checkpoint with weights_only=True; only the statistics methods '
        f'{_HISTORY_BUFFER_STATISTICS} of mmengine\'s HistoryBuffer are '
        'allowed.')


MMENGINE_SAFE_GLOBALS: List[Any] = []
_depth = {'value': 0}


def _safe_globals_list() -> List[Any]:
    if not MMENGINE_SAFE_GLOBALS:
        MMENGINE_SAFE_GLOBALS.extend(_mmengine_safe_globals())
        # protocol-2 pickles name it __builtin__.getattr; torch maps that
        # module name to builtins before the lookup.
        MMENGINE_SAFE_GLOBALS.append(
            (_history_buffer_getattr, 'builtins.getattr'))
    return MMENGINE_SAFE_GLOBALS


@contextlib.contextmanager
def mmengine_checkpoint_globals() -> Iterator[None]:
    """Weights-only ``torch.load`` of mmengine checkpoints inside.

    Allows the types mmengine writes into a checkpoint (see fix 2) for the
    duration of the block, and afterwards restores the statistics table of
    ``HistoryBuffer`` that loading a checkpoint may have changed.
    Re-entrant: only the outermost block adds and removes the globals.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    if _depth['value'] > 0:
        yield
        return
    table = HistoryBuffer._statistics_methods
    saved = dict(table)
    _depth['value'] += 1
    try:
        with torch.serialization.safe_globals(_safe_globals_list()):
            yield
    finally:
        _depth['value'] -= 1
        table.clear()
        table.update(saved)
        for name in _HISTORY_BUFFER_STATISTICS:
            table.setdefault(name, getattr(HistoryBuffer, name))


def _scope_mmengine_checkpoint_loading() -> None:
    from mmengine.runner.checkpoint import CheckpointLoader
    original = CheckpointLoader.__dict__['load_checkpoint'].__func__
    if getattr(original, '__mmtat_patched__', False):
        return

    def load_checkpoint(cls: Any, filename: str, map_location: Any = None,
                        logger: Any = 'current') -> Any:
        with mmengine_checkpoint_globals():
            return original(cls, filename, map_location, logger)

    load_checkpoint.__mmtat_patched__ = True
    load_checkpoint.__wrapped__ = original
    load_checkpoint.__doc__ = original.__doc__
    CheckpointLoader.load_checkpoint = classmethod(load_checkpoint)


# --------------------------------------------------------------------------
# 5. recorded tensors changed in place
# --------------------------------------------------------------------------
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


def _guard_mmrazor_recorders() -> None:
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


# --------------------------------------------------------------------------
# 6. SyncBN -> BN keeps hooks
# --------------------------------------------------------------------------
_HOOK_TABLES = ('_forward_hooks', '_forward_hooks_with_kwargs',
                '_forward_hooks_always_called', '_forward_pre_hooks',
                '_forward_pre_hooks_with_kwargs', '_backward_hooks',
                '_backward_pre_hooks')


def revert_sync_batchnorm_keeping_hooks(module: torch.nn.Module) -> Any:
    """mmengine's ``revert_sync_batchnorm``, whose replacement layers keep
    the replaced layers' hooks (fix 6)."""
    from mmengine.model.utils import revert_sync_batchnorm
    before = dict(module.named_modules())
    reverted = revert_sync_batchnorm(module)
    for name, new in reverted.named_modules():
        old = before.get(name)
        if old is None or old is new:
            continue
        for table in _HOOK_TABLES:
            hooks = getattr(old, table, None)
            if hooks:
                # the same dict object: handles made on the old layer
                # still remove their hook
                setattr(new, table, hooks)
    return reverted


def _revert_sync_batchnorm_keeps_hooks() -> None:
    import mmengine.model
    import mmengine.runner.runner as runner_module
    for owner in (runner_module, mmengine.model):
        owner.revert_sync_batchnorm = revert_sync_batchnorm_keeping_hooks


# --------------------------------------------------------------------------
# 8. the config text formatted once per content
# --------------------------------------------------------------------------
_FORMAT_CACHE_SIZE = 8


def memoised_format_code(format_code: Any) -> Any:
    """``format_code`` (yapf's ``FormatCode``) that returns its result
    for a source text and style it formatted among its last
    ``_FORMAT_CACHE_SIZE`` calls without formatting again (fix 8)."""
    if getattr(format_code, '__mmtat_memoised__', False):
        return format_code
    results: 'OrderedDict[str, Any]' = OrderedDict()

    def formatted(unformatted_source: str, *args: Any, **kwargs: Any) -> Any:
        # repr: the style is a dict; the arguments are str / dict / bool
        key = repr((unformatted_source, args, sorted(kwargs.items())))
        if key in results:
            results.move_to_end(key)
            return results[key]
        result = format_code(unformatted_source, *args, **kwargs)
        results[key] = result
        if len(results) > _FORMAT_CACHE_SIZE:
            results.popitem(last=False)
        return result

    formatted.__mmtat_memoised__ = True  # type: ignore[attr-defined]
    formatted.__wrapped__ = format_code  # type: ignore[attr-defined]
    return formatted


def _memoise_config_formatting() -> None:
    import mmengine.config.config as config_module
    if hasattr(config_module, 'FormatCode'):
        config_module.FormatCode = memoised_format_code(
            config_module.FormatCode)


# --------------------------------------------------------------------------
# 9. a package's metafile index read once
# --------------------------------------------------------------------------
_metafile_indexes: Dict[str, Dict[str, Any]] = {}


def _metafile_index(package_path: str) -> Dict[str, Any]:
    """config name -> metafile entry of the package at ``package_path``,
    as ``mmengine.config.utils._get_cfg_metainfo`` builds it."""
    if package_path not in _metafile_indexes:
        from mmengine.fileio import load
        index: Dict[str, Any] = {}
        mim = os.path.join(package_path, '.mim')
        for meta_path in load(os.path.join(mim, 'model-index.yml'))['Import']:
            for model in load(os.path.join(mim, meta_path))['Models']:
                if 'Config' not in model:
                    warnings.warn(f'There is not `Config` define in {model}')
                    continue
                # the first entry of a config wins, as in mmengine
                index.setdefault(model['Config'].partition('/')[-1], model)
        _metafile_indexes[package_path] = index
    return _metafile_indexes[package_path]


def cached_cfg_metainfo(package_path: str, cfg_path: str) -> dict:
    """``mmengine.config.utils._get_cfg_metainfo`` from the package's
    index built once (fix 9)."""
    index = _metafile_index(package_path)
    if cfg_path not in index:
        raise ValueError(f'Expected configs: {index.keys()}, but got '
                         f'{cfg_path}')
    return copy.deepcopy(index[cfg_path])


def _read_metafiles_once() -> None:
    import mmengine.config.utils as config_utils
    if not hasattr(config_utils, '_get_cfg_metainfo'):
        return
    if config_utils._get_cfg_metainfo is not cached_cfg_metainfo:
        cached_cfg_metainfo.__wrapped__ = (  # type: ignore[attr-defined]
            config_utils._get_cfg_metainfo)
    config_utils._get_cfg_metainfo = cached_cfg_metainfo
    hub = sys.modules.get('mmengine.hub.hub')  # bound it by name
    if hub is not None and hasattr(hub, '_get_cfg_metainfo'):
        hub._get_cfg_metainfo = cached_cfg_metainfo


_applied = False


def apply() -> None:
    """Apply every fix of this module once (idempotent)."""
    global _applied
    if _applied:
        return
    _install_quantization_stand_in()
    _scope_mmengine_checkpoint_loading()
    _guard_mmrazor_recorders()
    _revert_sync_batchnorm_keeps_hooks()
    _memoise_config_formatting()
    _read_metafiles_once()
    # fixes 3 and 4 (normally already active through mmtat-startup.pth)
    _mmtat_startup.install()
    _applied = True


class ContiguousGrad(torch.autograd.Function):
    """Identity whose backward hands on a contiguous gradient (fix 7).

    Costs one copy of the gradient of the tensor it wraps.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore
        return grad.contiguous()


def cpu_batch_norm_backward_is_wrong() -> bool:
    """Whether this torch has fix 7's bug: the CPU input gradient of a
    training-mode ``batch_norm`` of one image, for a channels-last
    ``grad_output`` whose batch stride is 1, differs from the gradient for
    the same values in contiguous memory."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(1, 8, 4, 4, dtype=torch.float64, generator=generator,
                    requires_grad=True)
    y = torch.nn.functional.batch_norm(x, None, None, training=True)
    grad = torch.randn(1, 4, 4, 8, dtype=torch.float64,
                       generator=generator).permute(0, 3, 1, 2)
    strided = grad.as_strided(grad.shape, (1, ) + grad.stride()[1:])
    (got, ) = torch.autograd.grad(y, x, strided, retain_graph=True)
    (want, ) = torch.autograd.grad(y, x, strided.contiguous())
    return not torch.allclose(got, want, rtol=1e-9, atol=1e-12)
