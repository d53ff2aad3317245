"""The attention memory the authors' release would need for TaT configs,
computed.

Entry point of :mod:`mmtat.tools.attention_memory` (the same program as
``python -m mmtat.tools.attention_memory``); see there for the options.
"""
import os.path as osp
import sys

# From a checkout this is the repository (mmtat runs uninstalled too); from
# an installed package's mmtat/.mim/tools/analysis it is .mim.
sys.path.insert(
    0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mmtat.tools.attention_memory import main  # noqa: E402

if __name__ == '__main__':
    main()
