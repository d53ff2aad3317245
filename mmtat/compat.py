"""Every workaround mmtat needs to run the OpenMMLab stack on current torch.

All of them live here, each with the reason and the upstream versions it was
written for, and all are applied by :func:`apply` when ``mmtat`` is imported
(``import mmtat`` must therefore come before the first ``import mmrazor``;
``tools/*.py`` and ``custom_imports=dict(imports=['mmtat'])`` do that).
No installed file is edited: the fixes act on the running interpreter only.

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
   weights-only unpickler off, exactly those types are allow-listed with
   ``torch.serialization.add_safe_globals``; any other global in a
   checkpoint is still refused.  ``HistoryBuffer`` pickles its statistics
   methods as ``getattr(HistoryBuffer, 'mean')``; allowing ``getattr`` itself
   would let a checkpoint reach any attribute of any allowed object, so the
   name ``builtins.getattr`` is bound to a getattr that only returns
   ``HistoryBuffer``'s own statistics methods.

3. **mmengine without pkg_resources** (mmengine 0.10.x, setuptools >= 81).
   mmengine finds installed packages (``mmseg::`` base configs,
   ``mmengine.hub``) with ``pkg_resources``, which setuptools 81 removed;
   torch >= 2.9 requires a recent setuptools, so ``Config.fromfile`` of any
   config inheriting ``mmseg::...`` failed with "No module named
   'pkg_resources'".  Where ``pkg_resources`` cannot be imported,
   mmengine's ``is_installed`` / ``get_installed_path`` are replaced by
   equivalents built on ``importlib.metadata``.

Not here: distributed training on CPUs (gloo) is a feature mmengine 0.10
lacks rather than a version breakage; it lives in
``mmtat/utils/cpu_dist.py`` and is applied by ``tools/train.py``.
"""
import importlib
import pickle
import sys
import types
import warnings
from typing import Any, List

import torch

__all__ = ['apply', 'MMRazorQuantizationUnavailable', 'MMENGINE_SAFE_GLOBALS']

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


_HISTORY_BUFFER_STATISTICS = {'min', 'max', 'current', 'mean'}


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    """``getattr`` as seen by weights-only unpickling: HistoryBuffer only."""
    from mmengine.logging.history_buffer import HistoryBuffer
    # mmengine fills _statistics_methods only when a first HistoryBuffer is
    # created, which a fresh process resuming a run has not done yet.
    allowed = _HISTORY_BUFFER_STATISTICS | set(
        HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and isinstance(name, str) and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'mmtat.compat: refusing getattr({obj!r}, {name!r}) while loading a '
        'checkpoint with weights_only=True; only the statistics methods of '
        'mmengine\'s HistoryBuffer are allowed.')


MMENGINE_SAFE_GLOBALS: List[Any] = []


def _allow_mmengine_checkpoint_types() -> None:
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is None:
        return  # torch < 2.4: torch.load is not weights-only by default
    if not MMENGINE_SAFE_GLOBALS:
        MMENGINE_SAFE_GLOBALS.extend(_mmengine_safe_globals())
        # protocol-2 pickles name it __builtin__.getattr; torch maps that
        # module name to builtins before the lookup.
        MMENGINE_SAFE_GLOBALS.append(
            (_history_buffer_getattr, 'builtins.getattr'))
    add_safe_globals(MMENGINE_SAFE_GLOBALS)


def _is_installed(package: str) -> bool:
    """``mmengine.utils.is_installed`` without pkg_resources."""
    from importlib import metadata, util
    try:
        metadata.distribution(package)
        return True
    except metadata.PackageNotFoundError:
        spec = util.find_spec(package)
        return spec is not None and spec.origin is not None


def _get_installed_path(package: str) -> str:
    """``mmengine.utils.get_installed_path`` without pkg_resources.

    A distribution's name may differ from its module's (mmsegmentation ->
    mmseg): the module comes from the distribution's top_level.txt.
    """
    import os.path as osp
    from importlib import metadata, util
    module = package
    try:
        top_level = metadata.distribution(package).read_text('top_level.txt')
    except metadata.PackageNotFoundError:
        top_level = None
    if top_level and top_level.split():
        module = top_level.split()[0]
    spec = util.find_spec(module)
    if spec is None or spec.origin is None:
        raise RuntimeError(
            f'cannot find the installed path of {package} (module {module})')
    return osp.dirname(spec.origin)


def _replace_pkg_resources_helpers() -> None:
    try:
        import pkg_resources  # noqa: F401
        return
    except ImportError:
        pass
    import mmengine.config.config as config_module
    import mmengine.utils as utils_module
    import mmengine.utils.package_utils as package_utils
    for module in (package_utils, utils_module, config_module):
        module.is_installed = _is_installed
        module.get_installed_path = _get_installed_path
    try:
        import mmengine.hub.hub as hub_module
    except ImportError:
        return
    hub_module.get_installed_path = _get_installed_path


_applied = False


def apply() -> None:
    """Apply every fix of this module once (idempotent)."""
    global _applied
    if _applied:
        return
    _install_quantization_stand_in()
    _allow_mmengine_checkpoint_types()
    _replace_pkg_resources_helpers()
    _applied = True
