"""Local checkpoints are refused when missing, empty or truncated (in
milliseconds, before anything is built), broken downloads in the cache are
not 'cached', and resuming finds the newest complete checkpoint."""
import os

import pytest
import torch
from mmengine.config import Config

from mmtat.checks import (
    RemoteFileUnavailableError,
    check_checkpoint_file,
    check_local_checkpoints,
    check_remote_files,
    checkpoint_file_problem,
    latest_checkpoint,
)
from mmtat.utils import InputError


def _save(path, value=1.0, legacy=False):
    torch.save({'state_dict': {'w': torch.full((64, 64), value)}}, path,
               _use_new_zipfile_serialization=not legacy)
    return str(path)


def _truncate(src, dst, keep=0.5):
    data = open(src, 'rb').read()
    with open(dst, 'wb') as f:
        f.write(data[:int(len(data) * keep)])
    return str(dst)


def test_complete_checkpoints_pass(tmp_path):
    assert checkpoint_file_problem(_save(tmp_path / 'a.pth')) is None
    # torch.save without the zip container (old torch / explicit opt-out)
    assert checkpoint_file_problem(
        _save(tmp_path / 'b.pth', legacy=True)) is None


def test_broken_files_are_named(tmp_path):
    good = _save(tmp_path / 'good.pth')
    (tmp_path / 'empty.pth').write_bytes(b'')
    (tmp_path / 'page.pth').write_text('<html>404 Not Found</html>')
    (tmp_path / 'dir.pth').mkdir()
    cases = {
        str(tmp_path / 'nope.pth'): 'does not exist',
        str(tmp_path / 'dir.pth'): 'is a directory',
        str(tmp_path / 'empty.pth'): 'is empty (0 bytes)',
        _truncate(good, tmp_path / 'half.pth'): 'is truncated or corrupt',
        _truncate(good, tmp_path / 'most.pth', 0.99): 'is truncated',
        str(tmp_path / 'page.pth'): 'is not a torch checkpoint',
    }
    for path, expected in cases.items():
        problem = checkpoint_file_problem(path)
        assert problem is not None and expected in problem, (path, problem)


def test_check_checkpoint_file_message(tmp_path):
    with pytest.raises(InputError) as err:
        check_checkpoint_file(str(tmp_path / 'x.pth'), '--resume',
                              fix='Give a complete one.')
    assert str(err.value) == (
        f'--resume = {tmp_path / "x.pth"}: the file does not exist. '
        'Nothing was started. Give a complete one.')


def test_local_checkpoint_keys_of_a_config(tmp_path):
    good = _save(tmp_path / 'good.pth')
    (tmp_path / 'empty.pth').write_bytes(b'')
    cfg = Config(dict(
        load_from=str(tmp_path / 'missing.pth'),
        model=dict(
            teacher_ckpt=str(tmp_path / 'empty.pth'),
            teacher=dict(pretrained=str(tmp_path / 'never_read.pth')),
            architecture=dict(pretrained=good),
            backbone=dict(init_cfg=dict(
                type='Pretrained', checkpoint='open-mmlab://resnet18')))))
    with pytest.raises(InputError) as err:
        check_local_checkpoints(cfg, mode='train')
    message = str(err.value)
    assert message.startswith('2 checkpoint file(s) of this run cannot be '
                              'loaded')
    assert f'load_from = {tmp_path / "missing.pth"}: the file does not ' \
        'exist' in message
    assert f'model.teacher_ckpt = {tmp_path / "empty.pth"}: the file is ' \
        'empty (0 bytes)' in message
    # a teacher built from teacher_ckpt never reads its own pretrained;
    # remote paths are check_remote_files' business
    assert 'never_read' not in message and 'open-mmlab' not in message
    # testing loads no pretrained weights either
    cfg.load_from = good
    cfg.model.teacher_ckpt = good
    check_local_checkpoints(cfg, mode='test')


def test_a_teacher_to_train_first_is_named(tmp_path, monkeypatch):
    """The CamVid configs' teacher is trained first by its own config; its
    missing checkpoint says so."""
    import os.path as osp
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    cfg = Config.fromfile(
        osp.join(repo, 'configs/tat/deeplabv3_r101_r18_camvid.py'))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as err:
        check_local_checkpoints(cfg, mode='train')
    message = str(err.value)
    assert ('model.teacher_ckpt = work_dirs/deeplabv3_r101_camvid/'
            'iter_20000.pth: the file does not exist') in message
    assert 'The teacher of this config is trained first' in message
    assert 'tools/reproduce.py TABLE' in message
    # other missing files get no such hint
    with pytest.raises(InputError) as err:
        check_local_checkpoints(Config(dict(load_from='nowhere.pth')))
    assert 'trained first' not in str(err.value)


def test_broken_download_in_cache_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    cache = tmp_path / 'torch' / 'hub' / 'checkpoints'
    cache.mkdir(parents=True)
    url = 'https://download.openmmlab.com/x/teacher_1234.pth'
    (cache / 'teacher_1234.pth').write_bytes(b'')  # an interrupted download
    cfg = Config(dict(model=dict(teacher_ckpt=url)))
    with pytest.raises(RemoteFileUnavailableError) as err:
        check_remote_files(cfg, mode='train', timeout=1)
    message = str(err.value)
    assert 'broken copy' in message
    assert f'{cache / "teacher_1234.pth"} is empty (0 bytes)' in message
    assert 'Delete the file(s)' in message
    # a complete cached copy is used without asking the network
    _save(cache / 'teacher_1234.pth')
    files = check_remote_files(cfg, mode='train', timeout=1)
    assert [f.cached for f in files] == [True]


def test_latest_checkpoint_prefers_the_pointer(tmp_path):
    for i in (1, 2, 3):
        _save(tmp_path / f'iter_{i}.pth', value=i)
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_2.pth'))
    assert latest_checkpoint(str(tmp_path)) == (str(tmp_path / 'iter_2.pth'),
                                                [])


def test_latest_checkpoint_falls_back_to_newest_complete(tmp_path):
    _save(tmp_path / 'iter_4.pth')
    _save(tmp_path / 'iter_8.pth')
    _truncate(tmp_path / 'iter_8.pth', tmp_path / 'iter_12.pth')
    (tmp_path / 'iter_16.pth').write_bytes(b'')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_16.pth'))
    path, notes = latest_checkpoint(str(tmp_path))
    assert path == str(tmp_path / 'iter_8.pth')
    assert 'iter_16.pth, which is empty (0 bytes)' in notes[0]
    assert any('skipped' in n and 'iter_12.pth' in n for n in notes)
    # a pointer cut short while being written
    (tmp_path / 'last_checkpoint').write_text('')
    assert latest_checkpoint(str(tmp_path))[0] == str(tmp_path / 'iter_8.pth')
    # the file name, when the run started in another directory
    (tmp_path / 'last_checkpoint').write_text('./work_dirs/x/iter_4.pth')
    assert latest_checkpoint(str(tmp_path))[0] == str(tmp_path / 'iter_4.pth')
    os.remove(tmp_path / 'last_checkpoint')
    assert latest_checkpoint(str(tmp_path))[0] == str(tmp_path / 'iter_8.pth')
    assert latest_checkpoint(str(tmp_path / 'none')) == (None, [])
