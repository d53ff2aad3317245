"""torchrun, ending in one line instead of its traceback.

``tools/dist_train.sh`` and ``tools/dist_test.sh`` start their workers with
this program: ``python tools/launch.py [torchrun options] SCRIPT ARGS`` is
``python -m torch.distributed.run [torchrun options] SCRIPT ARGS`` (the same
``main``, options, rendezvous, worker monitoring and forwarding of
signals), with two endings said in one line instead of torchrun's Python
traceback:

* a signal to the agent (SIGTERM: slurm's notice before preemption, or
  ``kill``): torchrun's agent forwards it to the workers, waits for them
  and raises ``SignalException``; here that is one line and exit status
  128 + the signal's number (143 for SIGTERM).  The workers of
  ``tools/train.py`` have saved a checkpoint and said where, one line
  each;
* failed workers (``ChildFailedError``, whose message is torchrun's
  failure table with the agent's traceback): one line per failed rank
  (exit code, pid) and the first failure's exit code; each worker has
  reported its own error above.

It imports only torch, not mmtat: the agent stays light.  ``python -m
mmtat.tools.launch`` runs it too (importing mmtat first).
"""
import signal
import sys
from typing import List, Optional

#: who says the line (the program a user started, through the shell
#: script)
NAME = 'torchrun'


def _signal_name(sigval: int) -> str:
    try:
        return signal.Signals(sigval).name
    except ValueError:
        return f'signal {sigval}'


def main(argv: Optional[List[str]] = None) -> None:
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import (
        ChildFailedError,
    )
    from torch.distributed.run import main as torchrun_main

    try:
        torchrun_main(argv)
    except SignalException as err:
        sigval = int(err.sigval)
        print(f'{NAME}: stopped by {_signal_name(sigval)}; its workers were '
              'asked to stop (a training run saves a checkpoint first and '
              'says where, one line per process).', file=sys.stderr,
              flush=True)
        sys.exit(128 + sigval)
    except ChildFailedError as err:
        first_rank, first = err.get_first_failure()
        for rank, failure in sorted(err.failures.items()):
            code = failure.exitcode
            how = (f'was killed by {_signal_name(-code)}' if code < 0 else
                   f'exited with status {code}')
            print(f'{NAME}: rank {rank} (pid {failure.pid}) {how}; its own '
                  'message is above.', file=sys.stderr, flush=True)
        code = first.exitcode
        sys.exit(code if code > 0 else 128 - code if code < 0 else 1)


if __name__ == '__main__':
    main()
