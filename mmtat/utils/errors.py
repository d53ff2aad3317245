"""The error the tools report as one paragraph, without a traceback."""

__all__ = ['InputError']


class InputError(ValueError):
    """A wrong input of a run (config option, checkpoint, dataset, ...).

    The message names the value and the fix; ``mmtat.tools`` print it and
    exit with a non-zero status instead of showing a traceback.
    """
