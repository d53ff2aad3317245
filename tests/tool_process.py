"""Tool runs in processes forked from an interpreter that has imported the
stack once.

A tool run as ``python tools/X.py ...`` spends its first seconds importing
torch, mmengine, MMSegmentation, MMRazor and mmtat, the same for every run;
the suite runs a few dozen.  :func:`run_forked` runs the tool's script as
``__main__`` in a child of a fork server (``fork_server.py`` beside it:
one single-threaded interpreter per test process that has imported
:data:`PRELOAD` and forks a child per run).  The child is a
process of its own, as a user's run is: its own arguments, working folder,
environment, stdout/stderr (merged, as ``tool_utils.run_tool`` returns
them), exit status (``sys.exit`` and an uncaught exception give what the
interpreter gives) and exit handlers.  What differs from a fresh
interpreter is only that the stack is imported before the script starts,
so the tests whose subject is the start of an interpreter (the import order
of a config's ``custom_imports``, the installed wheel, the start-up hook,
MMSegmentation's own ``train.py``, signals and kills, torchrun) start fresh
interpreters of their own.
"""
import atexit
import gc
import os
import os.path as osp
import runpy
import subprocess
import sys
import tempfile
import traceback
from typing import Dict, List

from fork_server import fork_server

#: what every tool imports first (the modules of the tools themselves
#: included, so that a run starts at the tool's ``main``)
PRELOAD = [
    'torch', 'mmengine.runner', 'mmtat', 'mmseg.apis', 'mmseg.datasets',
    'mmseg.evaluation', 'mmseg.visualization', 'mmtat.tools.train',
    'mmtat.tools.test', 'mmtat.tools.convert_student',
    'mmtat.tools.visualize_tat', 'mmtat.tools.benchmark',
    'mmtat.tools.reproduce', 'mmtat.tools.demo'
]

def _exit_status(code) -> int:
    """What the interpreter exits with for ``sys.exit(code)``."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _run_script(argv: List[str], cwd: str, env: Dict[str, str],
                log: str) -> None:
    """Child: ``python ARGV`` from here on, output into ``log``."""
    # the preloaded stack lives as long as the run: its objects need no
    # scanning by the garbage collector's full collections
    gc.freeze()
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    # what PYTHONPATH and the script's folder would have put first
    extra = [p for p in env.get('PYTHONPATH', '').split(os.pathsep) if p]
    script = osp.abspath(argv[0])
    sys.path[:0] = [osp.dirname(script)] + extra
    if 'OMP_NUM_THREADS' in env:  # read by torch when it started
        import torch
        torch.set_num_threads(int(env['OMP_NUM_THREADS']))
    sys.argv = list(argv)
    try:
        runpy.run_path(script, run_name='__main__')
        status = 0
    except SystemExit as exc:
        status = _exit_status(exc.code)
    except BaseException:  # noqa: B902  (as the interpreter reports it)
        traceback.print_exc()
        status = 1
    try:
        atexit._run_exitfuncs()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def run_forked(argv: List[str], cwd: str, env: Dict[str, str],
               timeout: float) -> subprocess.CompletedProcess:
    """``python ARGV`` (a script and its arguments) in ``cwd`` with the
    environment ``env``, in a child of the fork server; stdout and stderr
    merged into ``stdout``, as ``subprocess.run`` would return them."""
    args = [sys.executable] + list(argv)
    with tempfile.TemporaryDirectory() as folder:
        log = osp.join(folder, 'output.txt')
        child = fork_server(PRELOAD).Process(target=_run_script,
                                       args=(list(argv), cwd, env, log))
        child.start()
        child.join(timeout)
        if child.exitcode is None:
            child.kill()
            child.join()
            with open(log, errors='replace') as f:
                raise subprocess.TimeoutExpired(args, timeout, f.read())
        with open(log, errors='replace') as f:
            output = f.read()
    return subprocess.CompletedProcess(args, child.exitcode, stdout=output)
