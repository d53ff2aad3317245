"""Pictures of what TaT matches, for a distillation config and checkpoint.

Entry point of :mod:`mmtat.tools.visualize_tat` (the same program as
``python -m mmtat.tools.visualize_tat``); see there for the options.
"""
import os.path as osp
import sys

# From a checkout this is the repository (mmtat runs uninstalled too); from
# an installed package's mmtat/.mim/tools/analysis it is .mim.
sys.path.insert(
    0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmtat.tools.visualize_tat import main  # noqa: E402

if __name__ == '__main__':
    main()
