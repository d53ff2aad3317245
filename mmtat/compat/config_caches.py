"""Faster ``Config.fromfile`` and Runner start: an explicit option.

Not a correctness fix, so not applied by ``import mmtat``: call
:func:`enable_config_caches` (mmtat's tools and the test suite do).
Both act on mmengine 0.10.x internals.

* ``Config.pretty_text`` runs yapf over the whole config text on every
  call, and one ``Runner`` start calls it four times for an unchanged config
  (the message hub's runtime info, the logged ``Config:``, the config dumped
  into the work dir, ``RuntimeInfoHook``).  The ``FormatCode`` that
  ``mmengine.config.config`` calls keeps its last few results, keyed by the
  exact source text and style: a repeated call returns the same text, a
  changed config is formatted anew.
* To resolve ``mmseg::_base_/...`` mmengine first looks the path up as a
  model name: ``config.utils._get_cfg_metainfo`` reads the package's
  ``model-index.yml`` and every metafile it imports (about 50 YAML files for
  MMSegmentation) on each call, and only then falls back to the base file.
  The index of a package (config name -> its first metafile entry, as
  mmengine builds it) is built once per process and package; the lookup,
  its ``ValueError`` for a name that is not a model, and the entry returned
  (a copy) are mmengine's.  An installed package does not change under a
  running process.
"""
import copy
import os
import sys
import warnings
from collections import OrderedDict
from typing import Any, Dict

__all__ = [
    'enable_config_caches', 'memoised_format_code', 'cached_cfg_metainfo'
]

_FORMAT_CACHE_SIZE = 8


def memoised_format_code(format_code: Any) -> Any:
    """``format_code`` (yapf's ``FormatCode``) that returns its result
    for a source text and style it formatted among its last
    ``_FORMAT_CACHE_SIZE`` calls without formatting again."""
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


def memoise_config_formatting() -> None:
    """``mmengine.config.config.FormatCode`` keeps its last results."""
    import mmengine.config.config as config_module
    if hasattr(config_module, 'FormatCode'):
        config_module.FormatCode = memoised_format_code(
            config_module.FormatCode)


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
    index built once."""
    index = _metafile_index(package_path)
    if cfg_path not in index:
        raise ValueError(f'Expected configs: {index.keys()}, but got '
                         f'{cfg_path}')
    return copy.deepcopy(index[cfg_path])


def read_metafiles_once() -> None:
    """mmengine looks metafile entries up in an index built once."""
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


def enable_config_caches() -> None:
    """Both caches, for the rest of the process (idempotent)."""
    memoise_config_formatting()
    read_metafiles_once()
