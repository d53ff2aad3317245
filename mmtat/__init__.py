"""mmtat: Target-aware Transformer distillation for OpenMMLab.

Importing this package first applies the compatibility fixes of
:mod:`mmtat.compat` (they must precede the first import of MMRazor) and then
registers mmtat's modules into MMRazor's registries (and its hooks into
mmengine's), so configs reach them with
``custom_imports = dict(imports=['mmtat'], allow_failed_imports=False)``.
"""
from . import compat

compat.apply()

# datasets registers CamVidDataset, engine the hooks that the shipped
# configs list in custom_hooks
from . import datasets, engine  # noqa: E402,F401
from .models import *  # noqa: E402,F401,F403
from .version import __version__  # noqa: E402

__all__ = ['__version__', 'compat']
