"""MMRazor's quantization package replaced by an inert stand-in.

Affects: mmrazor 1.0.0 with torch >= 2.1 (seen on 2.13.0 and 2.14.1).
``import mmrazor.models`` imports ``mmrazor.structures.quantization``, which
builds torch.ao backend configs at import time from torch.ao internals that
later torch releases removed or renamed, so the import of *all* of MMRazor
fails, distillation included (torch 2.14.1: ``ImportError: `torch>=1.13` is
not installed properly``).  No upstream fix exists: MMRazor 1.0.0 is its
last release.

mmtat does not use quantization, so before MMRazor is first imported an
inert module is put in ``sys.modules`` under that name.  Importing names
from it works (MMRazor's quantizers do so at import time); *using* any of
them raises :class:`MMRazorQuantizationUnavailable` with this reason.
"""
import sys
import types
from typing import Any

import torch

__all__ = ['MMRazorQuantizationUnavailable', 'install_quantization_stand_in']

QUANTIZATION_MODULE = 'mmrazor.structures.quantization'
_REASON = (
    'MMRazor quantization is not available with mmtat: mmrazor 1.0.0\'s '
    '`mmrazor.structures.quantization` imports torch.ao internals that '
    f'torch {torch.__version__} no longer has, and importing it breaks '
    '`import mmrazor.models` altogether. mmtat replaces that subpackage with '
    'an inert stand-in (mmtat/compat/mmrazor_quantization.py) so that '
    'MMRazor distillation works; quantization needs a torch release that '
    'mmrazor 1.0.0 supports (torch <= 2.0) without mmtat imported.')


class MMRazorQuantizationUnavailable(RuntimeError):
    """Raised when anything from MMRazor's quantization stand-in is used."""


class _Unavailable:
    """One name of the stand-in: importable, unusable."""

    def __init__(self, name: str) -> None:
        object.__setattr__(self, '_name', name)

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise MMRazorQuantizationUnavailable(
            f'`{QUANTIZATION_MODULE}.{self._name}` was used. {_REASON}')

    __call__ = _fail
    __getitem__ = _fail
    __iter__ = _fail

    def __getattr__(self, item: str) -> Any:
        if item.startswith('__'):
            raise AttributeError(item)
        self._fail()

    def __repr__(self) -> str:
        return f'<unavailable {QUANTIZATION_MODULE}.{self._name}>'


class _QuantizationStandIn(types.ModuleType):

    def __getattr__(self, name: str) -> Any:
        # dunder lookups (star-import's __all__, pickling, inspect) must keep
        # behaving like a normal module without that attribute.
        if name.startswith('__'):
            raise AttributeError(name)
        value = _Unavailable(name)
        setattr(self, name, value)
        return value


def install_quantization_stand_in() -> None:
    """Put the stand-in in ``sys.modules`` unless the real package (or the
    stand-in) is already there."""
    if QUANTIZATION_MODULE in sys.modules:
        # Either the stand-in is already there, or MMRazor was imported
        # before mmtat and its quantization did load on this torch.
        return
    stand_in = _QuantizationStandIn(
        QUANTIZATION_MODULE, 'Inert stand-in installed by mmtat. ' + _REASON)
    stand_in.__all__ = []  # star-imports take nothing from it
    stand_in.__path__ = []  # a package: submodules resolve to ImportError
    stand_in.__mmtat_stand_in__ = True
    sys.modules[QUANTIZATION_MODULE] = stand_in
