"""mmtat's interpreter start-up hook: config resolution before any import.

Three compatibility fixes act on how mmengine 0.10.x resolves ``pkg::``
configs, and they must hold before the first ``Config.fromfile``: the
training scripts of MMSegmentation, MMPretrain and MMRazor parse a config
(and resolve its ``mmseg::`` / ``mmcls::`` / ``mmtat::`` bases) before any
``custom_imports`` of that config run, so ``import mmtat`` is too late for
them.  Installed with mmtat, ``mmtat-startup.pth`` (in site-packages) calls
:func:`install` when the interpreter starts.  That only appends a meta-path
finder to ``sys.meta_path``; nothing is imported (no torch, no mmengine).
The finder patches four mmengine modules right after each is first
imported, whoever imports it:

* **mmengine without pkg_resources** (``mmengine.utils.package_utils``;
  mmengine 0.10.x with setuptools >= 81, which torch >= 2.9 pulls in):
  mmengine finds installed packages with ``pkg_resources``, which setuptools
  81 removed, so ``Config.fromfile`` of any config inheriting ``mmseg::...``
  fails with "No module named 'pkg_resources'".  Where ``pkg_resources``
  cannot be imported, ``is_installed`` / ``get_installed_path`` get
  equivalents built on ``importlib.metadata``.
* **mmtat:: configs** (``mmengine.config.utils``, ``mmengine.config.config``):
  mmengine resolves ``pkg::`` bases only for the packages of its
  ``MODULE2PACKAGE``; ``mmtat`` is added, a misspelt ``mmtat::`` path gets
  the closest shipped configs, and an ``mmtat::`` base is read as the file
  itself (no ``_scope_='mmtat'``: mmtat registers into MMRazor's and
  mmengine's registries and has none of its own).
* **mmcls:: configs read from MMPretrain** (``mmengine.config.config``,
  ``mmengine.hub.hub``): MMPretrain replaced ``mmcls`` 1.x, but MMRazor's
  classification configs (and many user configs) still say ``mmcls::...``.
  mmengine 0.10.7 then raises "mmcls is not installed" for a ``_base_``, and
  for a model's ``cfg_path='mmcls::...'`` (MMRazor's ``architecture`` /
  ``teacher``) runs ``python -m pip install mmcls`` at build time, an old,
  incompatible package.  Where ``mmcls`` is not installed, ``mmcls::X`` is
  read as ``mmpretrain::X`` (logged once), and ``mmengine.hub``
  never installs a package: it stops with a message instead.

The patches act on mmengine 0.10's internals, so the hook steps aside for
any other mmengine release: when the first of those modules is imported it
looks up the installed mmengine version (``importlib.metadata``, mmengine
itself is not imported for that) and, for a version outside
:data:`SUPPORTED_MMENGINE`, says so in one line on stderr and leaves
mmengine as it is.  ``import mmtat`` applies the same patches
(``mmtat.compat.apply``), for a checkout used without installing it.  This
module must not import mmtat: its package import pulls in torch, mmengine
and MMRazor.
"""
# Only what every interpreter has imported by the time .pth files run
# (site imports os and sys): this module is loaded by every interpreter of
# the environment, most of which never use mmtat.  Annotations stay strings
# (no typing import); the rest is imported where it is used.
from __future__ import annotations

import os
import os.path as osp
import sys

# typing is read by linters and type checkers only, never imported here
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional

__all__ = [
    'install', 'patch_loaded_modules', 'mmengine_supported',
    'MMTAT_PACKAGE', 'SUPPORTED_MMENGINE', 'LEGACY_PACKAGES',
    'current_config_path', 'PackageInstallRefused'
]

MMTAT_PACKAGE = 'mmtat'
#: The mmengine releases whose internals the patches below were written for
#: (a version prefix; setup.py pins 0.10.7).
SUPPORTED_MMENGINE = '0.10.'


# --------------------------------------------------------------------------
# which mmengine
# --------------------------------------------------------------------------
def _installed_mmengine() -> Optional[str]:
    from importlib import metadata
    try:
        return metadata.version('mmengine')
    except metadata.PackageNotFoundError:
        return None


_GATE: Dict[str, Optional[bool]] = {'supported': None}


def mmengine_supported() -> bool:
    """Whether the installed mmengine is one the patches were written for.

    Looked up once per process, when the first patched module is imported;
    the first ``False`` writes one line to stderr saying why the hook
    steps aside.
    """
    if _GATE['supported'] is None:
        version = _installed_mmengine()
        supported = bool(version) and version.startswith(SUPPORTED_MMENGINE)
        _GATE['supported'] = supported
        if not supported:
            sys.stderr.write(
                f'mmtat start-up hook: mmengine {version or "(no version)"} '
                'is installed, but its patches (mmtat:: and mmcls:: configs, '
                'mmengine without pkg_resources) were written for mmengine '
                f'{SUPPORTED_MMENGINE}x, so it leaves mmengine unchanged.\n')
    return bool(_GATE['supported'])


# --------------------------------------------------------------------------
# mmengine without pkg_resources
# --------------------------------------------------------------------------
def is_installed(package: str) -> bool:
    """``mmengine.utils.is_installed`` without pkg_resources."""
    from importlib import metadata
    try:
        metadata.distribution(package)
        return True
    except metadata.PackageNotFoundError:
        import importlib.util
        spec = importlib.util.find_spec(package)
        return spec is not None and spec.origin is not None


def get_installed_path(package: str) -> str:
    """``mmengine.utils.get_installed_path`` without pkg_resources.

    A distribution's name may differ from its module's (mmsegmentation ->
    mmseg): the module comes from the distribution's top_level.txt.
    """
    from importlib import metadata
    module = package
    try:
        top_level = metadata.distribution(package).read_text('top_level.txt')
    except metadata.PackageNotFoundError:
        top_level = None
    if top_level:
        # top_level.txt may list helper modules too (mmtat's start-up hook)
        names = [n for n in top_level.split() if not n.startswith('_')]
        module = package if package in names else (names or [package])[0]
    import importlib.util
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise RuntimeError(
            f'cannot find the installed path of {package} (module {module})')
    return osp.dirname(spec.origin)


def _patch_package_utils(module: Any) -> None:
    import importlib.util
    if importlib.util.find_spec('pkg_resources') is not None:
        return  # mmengine's own helpers work
    originals = (module.is_installed, module.get_installed_path)
    module.is_installed = is_installed
    module.get_installed_path = get_installed_path
    # Imported through the hook, nothing has bound the names yet; patched
    # late (by ``import mmtat``), these modules hold mmengine's originals.
    for name in ('mmengine.utils', 'mmengine.config.config',
                 'mmengine.hub.hub'):
        user = sys.modules.get(name)
        if user is None:
            continue
        for attr, new in (('is_installed', is_installed),
                          ('get_installed_path', get_installed_path)):
            if getattr(user, attr, None) in originals:
                setattr(user, attr, new)


# --------------------------------------------------------------------------
# mmtat:: configs
# --------------------------------------------------------------------------
def shipped_configs(configs_dir: str) -> List[str]:
    """The config files under ``configs_dir``, relative, '/'-separated."""
    found = []
    for root, dirs, files in os.walk(configs_dir, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith(('.', '__')))
        for name in sorted(files):
            if name.endswith('.py'):
                rel = osp.relpath(osp.join(root, name), configs_dir)
                found.append(rel.replace(os.sep, '/'))
    return found


def missing_config_message(configs_dir: str, cfg_name: str) -> str:
    """What to say about ``mmtat::<cfg_name>`` that is not a shipped file."""
    configs = shipped_configs(configs_dir)
    import difflib
    close = difflib.get_close_matches(cfg_name, configs, n=3, cutoff=0.6)
    if not close:
        # a right file name in a wrong folder, or the other way round
        base = osp.basename(cfg_name)
        close = [c for c in configs if osp.basename(c) == base][:3]
    text = (f'mmtat::{cfg_name} is not a config shipped with mmtat '
            f'(looked in {configs_dir}).')
    if close:
        text += ' Did you mean ' + ' or '.join(
            f'mmtat::{c}' for c in close) + '?'
    else:
        tops = sorted({c.split('/', 1)[0] for c in configs if '/' in c})
        text += (' Its configs are under ' +
                 ', '.join(f'mmtat::{t}/' for t in tops) + '.')
    return text


def _patch_config_utils(module: Any) -> None:
    module.MODULE2PACKAGE.setdefault(MMTAT_PACKAGE, MMTAT_PACKAGE)
    original = module._get_external_cfg_base_path
    if getattr(original, '__mmtat_patched__', False):
        return

    def _get_external_cfg_base_path(package_path: str, cfg_name: str) -> str:
        configs_dir = osp.join(package_path, '.mim', 'configs')
        if (osp.basename(osp.normpath(package_path)) == MMTAT_PACKAGE
                and not osp.isfile(osp.join(configs_dir, cfg_name))):
            raise FileNotFoundError(
                missing_config_message(configs_dir, cfg_name))
        return original(package_path, cfg_name)

    _get_external_cfg_base_path.__mmtat_patched__ = True
    _get_external_cfg_base_path.__wrapped__ = original
    module._get_external_cfg_base_path = _get_external_cfg_base_path


def _patch_config(module: Any) -> None:
    config_cls = module.Config
    original = config_cls.__dict__['_get_cfg_path'].__func__
    if getattr(original, '__mmtat_patched__', False):
        return

    def _get_cfg_path(cfg_path: str, filename: str):
        path, scope = original(current_config_path(cfg_path), filename)
        return path, (None if scope == MMTAT_PACKAGE else scope)

    _get_cfg_path.__mmtat_patched__ = True
    _get_cfg_path.__wrapped__ = original
    config_cls._get_cfg_path = staticmethod(_get_cfg_path)
    # config.py bound the helpers of config/utils.py by name at import time
    from mmengine.config import utils as config_utils
    module._get_external_cfg_base_path = \
        config_utils._get_external_cfg_base_path


# --------------------------------------------------------------------------
# mmcls:: configs read from MMPretrain
# --------------------------------------------------------------------------
#: Config packages that were renamed: old ``pkg::`` prefix -> the package
#: that holds those configs now.
LEGACY_PACKAGES = {'mmcls': 'mmpretrain'}
_LOGGED: set = set()


class PackageInstallRefused(ModuleNotFoundError):
    """A config asked mmengine to pip-install a package."""


def _log(message: str) -> None:
    try:
        from mmengine.logging import print_log
        print_log(message, logger='current')
    except Exception:  # never break config parsing over a log line
        sys.stderr.write(message + '\n')


def current_config_path(cfg_path: str) -> str:
    """``cfg_path`` with a renamed package's prefix replaced by the package
    that holds its configs now (``mmcls::X`` -> ``mmpretrain::X``), unless
    the old package is installed."""
    import importlib.util
    package, sep, rest = cfg_path.partition('::')
    new_package = LEGACY_PACKAGES.get(package)
    if not sep or new_package is None or \
            importlib.util.find_spec(package) is not None:
        return cfg_path
    new_path = f'{new_package}::{rest}'
    if package not in _LOGGED:
        _LOGGED.add(package)
        _log(f'mmtat: {package} is not installed and {new_package} replaced '
             f'it: {package}:: configs are read as {new_package}:: (first: '
             f'{cfg_path} -> {new_path}).')
    return new_path


def _refuse_install(package: str) -> None:
    """``mmengine.utils.install_package`` as mmengine.hub calls it, without
    ever starting pip."""
    from mmengine.utils import is_installed as installed
    if installed(package):
        return
    hint = ''
    for old, new in LEGACY_PACKAGES.items():
        if package == old:
            hint = (f' ({old}:: configs are read from {new} when {new} is '
                    f'installed: pip install {new})')
    raise PackageInstallRefused(
        f'A config names {package}:: but {package} is not installed, and '
        'mmtat does not let a config start a pip install (mmengine.hub would '
        f'run "python -m pip install {package}").{hint} Install it yourself '
        'if it is the package you want.')


def _patch_hub(module: Any) -> None:
    if getattr(module.get_model, '__mmtat_patched__', False):
        return
    get_config, get_model = module.get_config, module.get_model

    def patched_get_config(cfg_path: str, *args: Any, **kwargs: Any) -> Any:
        return get_config(current_config_path(cfg_path), *args, **kwargs)

    def patched_get_model(cfg_path: str, *args: Any, **kwargs: Any) -> Any:
        return get_model(current_config_path(cfg_path), *args, **kwargs)

    for new, old in ((patched_get_config, get_config),
                     (patched_get_model, get_model)):
        new.__mmtat_patched__ = True
        new.__wrapped__ = old
        new.__doc__ = old.__doc__
    module.get_config = patched_get_config
    module.get_model = patched_get_model
    module.install_package = _refuse_install
    package = sys.modules.get('mmengine.hub')  # bound the names at import
    if package is not None:
        for name in ('get_config', 'get_model'):
            if hasattr(package, name):
                setattr(package, name, getattr(module, name))


_PATCHES: Dict[str, Callable[[Any], None]] = {
    'mmengine.utils.package_utils': _patch_package_utils,
    'mmengine.config.utils': _patch_config_utils,
    'mmengine.config.config': _patch_config,
    'mmengine.hub.hub': _patch_hub,
}


def _apply(name: str, module: Any) -> None:
    try:
        _PATCHES[name](module)
    except Exception as err:  # never break the import of mmengine itself
        import warnings
        warnings.warn(f'mmtat could not adapt {name} ({type(err).__name__}: '
                      f'{err}); mmtat:: configs may not resolve.')


class _PatchingLoader:
    """Runs a module's own loader, then mmtat's patch of that module."""

    def __init__(self, loader: Any, name: str) -> None:
        self._loader = loader
        self._name = name

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        # from here on the module looks as if imported without the hook
        module.__loader__ = self._loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        _apply(self._name, module)


class _MMEngineFinder:
    """Hands the modules of :data:`_PATCHES` to a :class:`_PatchingLoader`;
    every other import is left alone at the cost of one dict lookup."""

    def find_spec(self, fullname: str, path: Any = None,
                  target: Any = None) -> Any:
        if fullname not in _PATCHES or not mmengine_supported():
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, 'find_spec'):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is None or not hasattr(spec.loader, 'exec_module'):
            return spec
        spec.loader = _PatchingLoader(spec.loader, fullname)
        return spec


def patch_loaded_modules() -> None:
    """Patch those of the modules that are already imported."""
    if not any(name in sys.modules for name in _PATCHES):
        return
    if not mmengine_supported():
        return
    for name in _PATCHES:
        module = sys.modules.get(name)
        if module is not None:
            _apply(name, module)


def install() -> None:
    """Put the finder on ``sys.meta_path`` (once) and patch what mmengine
    modules are already imported."""
    if not any(isinstance(f, _MMEngineFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _MMEngineFinder())
    patch_loaded_modules()
