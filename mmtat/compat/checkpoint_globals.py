"""Weights-only ``torch.load`` of the checkpoints mmengine writes.

Affects: mmengine 0.10.x with torch >= 2.6 (seen on 2.13.0 and 2.14.1).
torch 2.6 made ``weights_only=True`` the default of ``torch.load``; mmengine
calls it with the default, so ``--resume`` and ``load_from`` fail on the
objects mmengine itself writes into a checkpoint ("Unsupported global:
mmengine.logging.history_buffer.HistoryBuffer", then numpy arrays and dtypes
of the message hub).  Upstream: open-mmlab/mmengine has no release with a
fix (0.10.7 is the newest).

Rather than switching the weights-only unpickler off, exactly those types
are allowed, and only while mmengine loads a checkpoint:
``CheckpointLoader.load_checkpoint`` (behind ``load_checkpoint``,
``Runner.resume``, ``load_from``, MMRazor's ``teacher_ckpt``) runs inside
:func:`mmengine_checkpoint_globals`, which wraps
``torch.serialization.safe_globals``.  Every other ``torch.load`` of the
process behaves as torch ships it; any other global in a checkpoint is
still refused.  ``HistoryBuffer`` pickles its statistics methods as
``getattr(HistoryBuffer, 'mean')``, so the name ``builtins.getattr`` is
bound to a getattr that returns only ``HistoryBuffer.min``, ``max``,
``current`` and ``mean``.  ``HistoryBuffer.__setstate__`` copies the
checkpoint's name -> method table into the class-wide
``_statistics_methods``; the context restores that table afterwards, so a
loaded checkpoint cannot add or replace statistics for the process.  The
``(callable, name)`` allow-list entries need torch >= 2.6.
"""
import contextlib
import importlib
import pickle
import warnings
from typing import Any, Iterator, List

import torch

__all__ = [
    'MMENGINE_SAFE_GLOBALS', 'mmengine_checkpoint_globals',
    'scope_mmengine_checkpoint_loading'
]


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

    Allows the types mmengine writes into a checkpoint (see the module) for the
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


def scope_mmengine_checkpoint_loading() -> None:
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
