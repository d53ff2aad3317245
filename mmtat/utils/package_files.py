"""Where an installed mmtat keeps its configs and tools (``mmtat/.mim``).

OpenMMLab packages ship their configs and tools inside the package, under
``<package>/.mim/``; mmengine resolves ``mmtat::tat/...`` bases there.  In a
checkout ``mmtat/.mim/{configs,tools,model-index.yml}`` are links to the
repository's own folders, in a wheel they are copies (see ``setup.py``).
"""
import os
import os.path as osp

from ..compat import missing_config_message

__all__ = ['mim_dir', 'configs_dir', 'config_file', 'display_config']


def mim_dir() -> str:
    """``.../mmtat/.mim`` of the imported mmtat."""
    return osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), '.mim')


def configs_dir() -> str:
    """The configs ``mmtat::`` resolves to."""
    return osp.join(mim_dir(), 'configs')


def config_file(name: str) -> str:
    """The path of shipped config ``name`` (as in ``mmtat::NAME``).

    Raises:
        FileNotFoundError: naming the closest shipped configs.
    """
    name = name[len('mmtat::'):] if name.startswith('mmtat::') else name
    path = osp.join(configs_dir(), name)
    if not osp.isfile(path):
        raise FileNotFoundError(missing_config_message(configs_dir(), name))
    return path


def display_config(path: str) -> str:
    """A short name for a config path in reports: ``configs/<name>`` for a
    shipped config (from a checkout or an installed package), else the path
    relative to the working directory when it is below it."""
    real = osp.realpath(path)
    shipped = osp.realpath(configs_dir())
    if real.startswith(shipped + os.sep):
        return 'configs/' + osp.relpath(real, shipped).replace(os.sep, '/')
    rel = osp.relpath(osp.abspath(path))
    return path if rel.startswith('..') else rel
