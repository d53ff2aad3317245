"""The repository's config files parsed once per test process.

``Config.fromfile`` of a shipped config (its ``_base_`` files and the
``mmseg::`` configs it inherits) takes about half a second, and the config
tests read each config in several files; :func:`load_config` parses a path
once and hands every caller its own deep copy, which it may change."""
import copy
import functools
import os.path as osp

from mmengine.config import Config


@functools.lru_cache(maxsize=None)
def _parsed(path: str) -> Config:
    return Config.fromfile(path)


def load_config(path: str) -> Config:
    """A fresh copy of ``Config.fromfile(path)``."""
    return copy.deepcopy(_parsed(osp.abspath(path)))
