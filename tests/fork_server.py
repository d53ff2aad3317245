"""Processes that start with the stack already imported (the tests' tool
runs, ``tool_process.py``).

A process that imports torch, mmengine, MMSegmentation, MMRazor and mmtat
spends seconds on it before doing anything; :func:`fork_server` gives the
``multiprocessing`` context whose server process (``forkserver``: one per
process, single-threaded, started at its first use) imports the named
modules once and forks every process started from the context.  The server
never initialises CUDA, so a forked process may.
"""
import multiprocessing
from multiprocessing.context import BaseContext
from typing import List, Sequence

__all__ = ['fork_server']

_preload: List[str] = []


def fork_server(preload: Sequence[str]) -> BaseContext:
    """The ``forkserver`` context whose server imports ``preload``.

    A process has one fork server: the modules of every call are imported
    by it if it has not started yet; once it runs, a module named later is
    imported by each forked process itself.
    """
    context = multiprocessing.get_context('forkserver')
    new = [name for name in preload if name not in _preload]
    if new:
        _preload.extend(new)
        context.set_forkserver_preload(list(_preload))
    return context
