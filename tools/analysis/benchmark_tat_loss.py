"""Speed and memory of TaTLoss against the release's computation.

Entry point of :mod:`mmtat.tools.benchmark_tat_loss` (the same program as
``python -m mmtat.tools.benchmark_tat_loss``); see there for the options.
"""
import os.path as osp
import sys

# From a checkout this is the repository (mmtat runs uninstalled too); from
# an installed package's mmtat/.mim/tools/analysis it is .mim.
sys.path.insert(
    0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmtat.tools.benchmark_tat_loss import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
