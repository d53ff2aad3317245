"""Reproduce a results table: run every config of it, collect the results.

Entry point of :mod:`mmtat.tools.reproduce` (the same program as
``python -m mmtat.tools.reproduce``); see there for the options.
"""
import os.path as osp
import sys

# From a checkout this is the repository (mmtat runs uninstalled too); from
# an installed package's mmtat/.mim/tools it is .mim, which shadows nothing.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmtat.tools.reproduce import main  # noqa: E402

if __name__ == '__main__':
    main()
