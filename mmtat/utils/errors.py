"""The errors the tools report as one paragraph, without a traceback."""

__all__ = ['InputError', 'RunRefused']


class InputError(ValueError):
    """A wrong input of a run (config option, checkpoint, dataset, ...).

    The message names the value and the fix; ``mmtat.tools`` print it and
    exit with a non-zero status instead of showing a traceback.
    """


class RunRefused(InputError):
    """A wrong input found by a hook after the Runner was built and before
    anything was trained or evaluated (a checkpoint that does not fit the
    model, teacher weights of another network).  The tools remove what the
    refused run wrote (its log folder) before reporting it."""
