"""Root of the test suite.  Its presence puts ``tests/`` on ``sys.path``
(pytest's default ``prepend`` import mode), so helpers shared by several
test folders, such as ``toy_runner.py``, import by name.

Every process of the suite (the pytest-xdist workers, which are started
after this file is read, and the tools they run) computes with one thread
unless the caller set ``OMP_NUM_THREADS``: the tests' tensors are tiny, and
OpenMP threads of two workers and their subprocesses competing for a small
machine's cores slow every one of them down.

Once collected (the whole stack imported), a test process moves its objects
out of the garbage collector's sight (``gc.freeze``): they live as long as
the process, and every full collection (mmengine's datasets call
``gc.collect()`` each time one is built) would scan them all again."""
import gc
import os
import shutil
import tempfile

import pytest

for _variable in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ.setdefault(_variable, '1')


def pytest_configure(config):
    # mmengine's config parsing caches (an explicit option of mmtat, which
    # its tools also take): most of a short run's start otherwise
    from mmtat.compat import enable_config_caches
    enable_config_caches()


def pytest_sessionstart(session):
    # A full disk fails the suite as a hundred errors of pytest's own
    # folder making; the free space in the first lines tells why at once
    # (written by the main process only, also under -q, which hides
    # pytest's report header).
    config = session.config
    reporter = config.pluginmanager.get_plugin('terminalreporter')
    if reporter is None or hasattr(config, 'workerinput'):
        return
    base = os.path.abspath(config.option.basetemp or tempfile.gettempdir())
    probe = base
    while not os.path.isdir(probe):
        probe = os.path.dirname(probe)
    free_gb = shutil.disk_usage(probe).free / 1e9
    reporter.write_line(
        f'temporary folders under {base}: {free_gb:.1f} GB free')


def pytest_collection_finish(session):
    gc.collect()
    gc.freeze()


@pytest.fixture(scope='module')
def module_tmp_path(request, tmp_path_factory):
    """``make(name)``: a new folder for what several tests of one module read
    (a training run's work dir).  The folders are removed when the module's
    tests are done, unless one of them failed, as ``pytest.ini``'s
    ``tmp_path_retention_policy = failed`` does for each test's
    ``tmp_path``: they hold real-size checkpoints (a DeepLabV3 R101-D8
    teacher's is about 350 MB), which would otherwise stay until the
    session ends."""
    failed_before = request.session.testsfailed
    made = []

    def make(name: str):
        made.append(tmp_path_factory.mktemp(name))
        return made[-1]

    yield make
    if request.session.testsfailed == failed_before:
        for folder in made:
            shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def one_thread():
    """One torch thread inside the test, whatever the process has (for the
    tests that train real networks in-process)."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
