"""torchrun for tools/dist_train.sh and tools/dist_test.sh, ending in one
line instead of its traceback.

Entry point of :mod:`mmtat.tools.launch` (``python -m mmtat.tools.launch``
runs the same program); see there.  The module is loaded by its file, so
that torchrun's agent does not import mmtat (and with it the whole
OpenMMLab stack): the agent only starts and watches the workers.
"""
import importlib.util
import os.path as osp
import sys

# From a checkout this is the repository (mmtat runs uninstalled too); from
# an installed package's mmtat/.mim/tools it is .mim, which shadows nothing.
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def _launch_module():
    package = importlib.util.find_spec('mmtat')  # finds, does not import
    path = osp.join(osp.dirname(package.origin), 'tools', 'launch.py')
    spec = importlib.util.spec_from_file_location('_mmtat_launch', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __name__ == '__main__':
    _launch_module().main()
