"""GPU readiness check of mmtat (correctness, loss and method benchmarks).

Entry point of :mod:`mmtat.tools.gpu_check` (the same program as
``python -m mmtat.tools.gpu_check``); see there for the options.
"""
import os.path as osp
import sys

# From a checkout this is the repository (mmtat runs uninstalled too); from
# an installed package's mmtat/.mim/tools/analysis it is .mim.
sys.path.insert(
    0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmtat.tools.gpu_check import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main())
