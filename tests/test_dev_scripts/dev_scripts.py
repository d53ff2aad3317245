"""The maintainers' programs of ``.dev_scripts/`` as modules of the tests.

They are scripts of the repository, not a package (and not installed):
:func:`load_script` imports one from its file, once per process, as
``import`` would (the tests monkeypatch what the script's functions read).
"""
import importlib.util
import os.path as osp
import sys
from types import ModuleType

from tool_utils import REPO

DEV_SCRIPTS = osp.join(REPO, '.dev_scripts')


def script_path(name: str) -> str:
    """``.dev_scripts/<name>.py``, relative to the repository."""
    return osp.join('.dev_scripts', f'{name}.py')


def load_script(name: str) -> ModuleType:
    """``.dev_scripts/<name>.py`` imported as the module ``name``."""
    module = sys.modules.get(name)
    path = osp.join(DEV_SCRIPTS, f'{name}.py')
    if module is not None and getattr(module, '__file__', None) == path:
        return module
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
