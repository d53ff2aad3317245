"""What a hook needs to know about the run it is part of, asked the same
way by every hook of :mod:`mmtat.engine.hooks`."""
from typing import Any, Optional

from mmengine.runner import BaseLoop

__all__ = ['is_training', 'is_resuming', 'config_path']


def is_training(runner: Any) -> bool:
    """Whether the runner is in ``train()``: its training loop is built
    (``test()`` and ``val()`` leave it a config)."""
    return isinstance(getattr(runner, '_train_loop', None), BaseLoop)


def is_resuming(runner: Any) -> bool:
    """Whether the runner's ``train()`` resumes a run (``resume=True``)."""
    return is_training(runner) and bool(getattr(runner, '_resume', False))


def config_path(runner: Any) -> Optional[str]:
    """The config file the runner was built from (None for a runner built
    from arguments)."""
    return getattr(getattr(runner, 'cfg', None), 'filename', None)
