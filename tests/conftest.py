"""Root of the test suite.  Its presence puts ``tests/`` on ``sys.path``
(pytest's default ``prepend`` import mode), so helpers shared by several
test folders, such as ``toy_runner.py``, import by name.

Every process of the suite (the pytest-xdist workers, which are started
after this file is read, and the tools they run) computes with one thread
unless the caller set ``OMP_NUM_THREADS``: the tests' tensors are tiny, and
OpenMP threads of two workers and their subprocesses competing for a small
machine's cores slow every one of them down."""
import os

for _variable in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ.setdefault(_variable, '1')
