"""A full disk, simulated (a write that raises ENOSPC): atomic_write
leaves the old file and no temporary one, the log file's handler raises
instead of printing a traceback, and the paragraph names the file, the
space, the checkpoint and the command.  The real full disk (a small tmpfs)
is in tests/test_tools/test_run_faults.py."""
import errno
import io
import logging
import os
import shutil

import pytest

from mmtat.engine import atomic_write
from mmtat.engine.disk_space import (
    DiskFullError,
    disk_full_paragraph,
    file_being_written,
    human_size,
    is_disk_full,
    raise_on_full_log,
)


def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_atomic_write_on_a_full_disk_leaves_the_old_file(tmp_path,
                                                         monkeypatch):
    path = tmp_path / 'iter_1.pth'
    atomic_write(path, b'complete')
    monkeypatch.setattr(os, 'fsync', _no_space)
    with pytest.raises(DiskFullError) as full:
        atomic_write(path, b'x' * 1000)
    assert full.value.errno == errno.ENOSPC
    assert full.value.filename == str(path) and full.value.needed == 1000
    assert is_disk_full(full.value)
    assert path.read_bytes() == b'complete'
    assert os.listdir(tmp_path) == ['iter_1.pth']  # no temporary file


def test_an_open_file_is_named_from_the_traceback(tmp_path):
    target = tmp_path / 'scalars.json'

    class Full(io.FileIO):

        def write(self, data):
            _no_space()

    def dump():  # what mmengine's LocalVisBackend does
        with Full(str(target), 'a') as f:
            f.write(b'{}')

    with pytest.raises(OSError) as err:
        dump()
    assert file_being_written(err.value) == str(target)


def test_the_log_handler_raises_instead_of_a_logging_error(tmp_path):
    log_file = tmp_path / 'run.log'
    logger = logging.getLogger(f'full_disk_{tmp_path.name}')
    handler = logging.FileHandler(log_file)
    logger.addHandler(handler)
    try:
        raise_on_full_log(logger)
        logger.warning('fits')
        handler.stream.write = _no_space
        with pytest.raises(DiskFullError) as full:
            logger.warning('does not fit')
        assert full.value.filename == str(log_file)
        assert file_being_written(full.value) == str(log_file)
        # other errors of a handler are still logging's business
        handler.stream.write = lambda text: 1 / 0
        logger.warning('a broken handler prints a logging error')
    finally:
        logger.removeHandler(handler)
        handler.stream = open(log_file, 'a')
        handler.close()


def test_the_paragraph(tmp_path, monkeypatch):
    checkpoint = tmp_path / 'iter_1.pth'
    checkpoint.write_bytes(b'x' * 3000)
    err = DiskFullError(str(tmp_path / 'iter_2.pth'), needed=5 * 2**20)
    monkeypatch.setattr(shutil, 'disk_usage',
                        lambda path: shutil._ntuple_diskusage(10, 9, 2**20))
    text = disk_full_paragraph(err, str(tmp_path), 'python tools/train.py '
                               'X.py --resume.', checkpoint=str(checkpoint))
    assert text == (
        f'The run stopped: writing {tmp_path}/iter_2.pth failed (no space '
        'left on device); 1.0 MB are free there, and a checkpoint of this '
        f'run needs 5.0 MB. The newest complete checkpoint, {checkpoint}, is '
        'intact (nothing half-written was left in its place). Free space '
        'on that file system (or give the run another --work-dir), then '
        'continue: python tools/train.py X.py --resume.')
    # a log file: the checkpoint's size is that of the newest one
    log_err = DiskFullError(str(tmp_path / 'run.log'), code=errno.EDQUOT)
    text = disk_full_paragraph(log_err, str(tmp_path), 'again.',
                               checkpoint=str(checkpoint))
    assert 'failed (its disk quota is used up)' in text
    assert 'a checkpoint of this run needs 2.9 KB' in text
    text = disk_full_paragraph(log_err, str(tmp_path), 'again.')
    assert 'needs an unknown size. No checkpoint of this run was written ' \
        'before.' in text
    assert human_size(512) == '512 bytes'


def test_reproduces_done_json_on_a_full_disk(tmp_path, monkeypatch):
    """tools/reproduce.py's record of a finished run: one paragraph, and
    the same command writes it later."""
    from mmtat.tools import reproduce
    job = reproduce.Job(dict(Name='student', Config='configs/x.py'),
                        str(tmp_path))
    os.makedirs(job.work_dir)
    checkpoint = os.path.join(job.work_dir, 'iter_2.pth')
    with open(checkpoint, 'wb') as f:
        f.write(b'x' * 4096)
    with open(os.path.join(job.work_dir, 'last_checkpoint'), 'w') as f:
        f.write(checkpoint)
    job.log_file = open(os.path.join(job.work_dir, 'reproduce.log'), 'a')
    assert job.claim() is None
    monkeypatch.setattr(os, 'fsync', _no_space)
    monkeypatch.setattr(reproduce, 'latest_checkpoint',
                        lambda work_dir: (checkpoint, []))
    with pytest.raises(SystemExit) as stop:
        reproduce._finish(job, 0)
    message = stop.value.code
    assert message.startswith(
        'ERROR: tools/reproduce.py (student finished training) stopped: '
        f'writing {job.work_dir}/done.json failed (no space left on '
        'device); ')
    assert 'a checkpoint of this run needs 4.0 KB' in message
    assert f'The newest complete checkpoint, {checkpoint}, is intact' in \
        message
    assert '(it writes done.json of student and goes on with the rest).' \
        in message
    assert not job.done and not job.lock.held
