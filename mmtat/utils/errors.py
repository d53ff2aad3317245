"""The errors the tools report as one paragraph, without a traceback."""
import difflib
from typing import List, Sequence, Union

__all__ = ['InputError', 'RunRefused', 'DataSampleError', 'did_you_mean']


def did_you_mean(words: Union[str, Sequence[str]], choices: Sequence[str],
                 n: int = 5, cutoff: float = 0.5) -> str:
    """``' Did you mean: A, B?'``: the choices closest to ``words`` (a
    word, or several: each one's best first, none twice), or ``''``."""
    close: List[str] = []
    for word in [words] if isinstance(words, str) else words:
        for match in difflib.get_close_matches(word, list(choices), n=n,
                                               cutoff=cutoff):
            if match not in close:
                close.append(match)
    return f' Did you mean: {", ".join(close)}?' if close else ''


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


class DataSampleError(InputError):
    """A sample of a run's data cannot be loaded or holds wrong labels.

    Raised in a data loader worker, it reaches the training process through
    torch's ``ExceptionWrapper``, which builds a new one from a message
    holding the worker's traceback; the paragraph after this class's name
    on the traceback's last line is taken back out, so the tools still
    print one paragraph.
    """

    def __init__(self, message: str) -> None:
        marker = f'{type(self).__module__}.{type(self).__qualname__}: '
        at = message.rfind(marker)
        if at >= 0:
            message = message[at + len(marker):].strip()
        super().__init__(message)
