"""Start the training loader's worker processes again, after a hook changed
what they must inherit.

Worker processes are forked copies of the training process: a change made
in it after they started (a dataset pipeline guarded, a signal handler
installed) does not reach them.  mmengine's ``IterBasedTrainLoop`` starts
its loader's workers when the loop is built, before the runner calls any
hook, so a hook from a config's ``custom_hooks`` that changes either can
only be in effect for the whole run by starting them again.  mmtat's
``tools/train.py`` makes those changes before the loop is built, and no
restart happens there.
"""
import weakref
from typing import Any

import torch
from mmengine.dataset import InfiniteSampler

# the iterator mmengine's IterBasedTrainLoop keeps for its loader: there
# is no public way to ask a loop for a new one
from mmengine.runner.loops import _InfiniteDataloaderIterator

__all__ = ['restart_train_workers']

#: Iterators started by :func:`restart_train_workers`: their workers have
#: every change of the hooks' ``before_train``, so a second hook asking for
#: a restart in the same ``before_train_epoch`` needs none.
_FRESH: 'weakref.WeakSet[Any]' = weakref.WeakSet()


def restart_train_workers(runner: Any) -> bool:
    """Stop the worker processes of the runner's training loader and start
    new ones that inherit the training process as it is now.

    For a hook's ``before_train_epoch``, once every hook's ``before_train``
    made its change: the run then reads the batches it would have read
    without the restart (mmengine's ``InfiniteSampler`` starts over from its
    seed, the random state of the training process is left as it was).
    Nothing happens for a loader without worker processes (the training
    process loads the samples itself, with every change), a loop that
    starts its workers each epoch (``EpochBasedTrainLoop``: after the
    hooks), or workers started by an earlier call since ``before_train``.

    Returns:
        Whether workers were started again.
    """
    loop = getattr(runner, '_train_loop', None)
    iterator = getattr(loop, 'dataloader_iterator', None)
    if not isinstance(iterator, _InfiniteDataloaderIterator):
        return False
    if iterator in _FRESH:
        return False
    loader = loop.dataloader
    if not getattr(loader, 'num_workers', 0):
        return False
    started = getattr(iterator, '_iterator', None)
    if getattr(loader, '_iterator', None) is started:
        loader._iterator = None  # persistent workers: the loader keeps them
    shutdown = getattr(started, '_shutdown_workers', None)
    if shutdown is not None:
        shutdown()
    sampler = getattr(loader, 'sampler', None)
    if isinstance(sampler, InfiniteSampler):
        # one stream of indices per sampler: the stopped workers took the
        # first batches of it, which the run has not seen
        sampler.indices = sampler._indices_of_rank()
    # a new iterator draws its workers' base seed from the global random
    # state; the run's random numbers stay those of a run without restart
    with torch.random.fork_rng(devices=[]):
        fresh = _InfiniteDataloaderIterator(loader)
    _FRESH.add(fresh)
    loop.dataloader_iterator = fresh
    return True
