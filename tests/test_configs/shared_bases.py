"""The top-level names that the shared bases of configs/_base_/distillers,
networks and recipes add to the configs that take them as a base.  They only
help a config assign its own keys (``model = dict(distiller={{_base_.x}})``),
so tests comparing configs key by key leave them out."""
import functools
import glob
import os.path as osp
from typing import FrozenSet

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SHARED_BASES = ('distillers', 'networks', 'recipes')


@functools.lru_cache(maxsize=None)
def helper_names() -> FrozenSet[str]:
    from mmengine.config import Config
    names = set()
    for folder in SHARED_BASES:
        for path in glob.glob(
                osp.join(REPO, 'configs', '_base_', folder, '*.py')):
            names.update(Config.fromfile(path).keys())
    return frozenset(names)
