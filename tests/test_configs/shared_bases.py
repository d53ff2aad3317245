"""The top-level names that the shared bases of configs/_base_/distillers,
networks and recipes add to the configs that take them as a base.  They only
help a config assign its own keys (``model = dict(distiller={{_base_.x}})``),
so tests comparing configs key by key leave them out."""
import functools
import glob
import os.path as osp
from typing import FrozenSet

from parsed_configs import load_config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SHARED_BASES = ('distillers', 'networks', 'recipes')


@functools.lru_cache(maxsize=None)
def helper_names() -> FrozenSet[str]:
    names = set()
    for folder in SHARED_BASES:
        for path in glob.glob(
                osp.join(REPO, 'configs', '_base_', folder, '*.py')):
            names.update(load_config(path).keys())
    return frozenset(names)
