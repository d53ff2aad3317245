"""Check every image and label of a config's datasets before a run.

Entry point of :mod:`mmtat.tools.check_data` (the same program as
``python -m mmtat.tools.check_data``); see there for the options.
"""
import os.path as osp
import sys

# From a checkout this is the repository (mmtat runs uninstalled too); from
# an installed package's mmtat/.mim/tools/misc it is .mim.
sys.path.insert(
    0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmtat.tools.check_data import main  # noqa: E402

if __name__ == '__main__':
    main()
