"""Train a model (a TaT distillation or a plain MMSegmentation config).

Entry point of :mod:`mmtat.tools.train` (the same program as ``python -m
mmtat.tools.train``); see there for the options.
"""
import os.path as osp
import sys

# From a checkout this is the repository (mmtat runs uninstalled too); from
# an installed package's mmtat/.mim/tools it is .mim, which shadows nothing.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmtat.tools.train import main  # noqa: E402

if __name__ == '__main__':
    main()
