"""MMSegmentation's released models, from the metafiles installed with it."""
import os.path as osp
from typing import Any, Dict


def mmseg_metafile(folder: str) -> Dict[str, Dict[str, Any]]:
    """name -> entry of ``mmseg/.mim/configs/<folder>/metafile.yaml``."""
    import mmseg
    import yaml
    path = osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs', folder,
                    'metafile.yaml')
    with open(path) as f:
        return {m['Name']: m for m in yaml.safe_load(f)['Models']}


def mmseg_release(config: str) -> Dict[str, Any]:
    """The metafile entry of ``mmseg::<folder>/<name>.py``."""
    folder, name = config.split('::', 1)[1].rsplit('/', 1)
    return mmseg_metafile(folder)[name[:-len('.py')]]


def mmseg_miou(config: str) -> float:
    """mIoU of ``mmseg::<folder>/<name>.py`` in MMSegmentation's metafile."""
    return mmseg_release(config)['Results']['Metrics']['mIoU']
