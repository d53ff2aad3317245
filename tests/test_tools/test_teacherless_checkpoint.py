"""Checkpoints without the frozen teacher (FrozenTeacherCheckpointHook): the
TaT VOC run with a teacher weights file writes checkpoints without
``teacher.*`` that record the file; ``--resume`` reloads the teacher from it
bitwise, refuses a missing or changed file, and the tools (test.py,
convert_student.py, visualize_tat.py) take such a checkpoint."""
import glob
import hashlib
import os
import os.path as osp
import shutil

import pytest
import torch
from conftest import synthetic_voc
from mmengine.config import Config
from tool_utils import (
    REPO,
    TAT_VOC,
    assert_ok,
    load_checkpoint,
    run_tool,
    smoke_options,
    train_iters_logged,
)

MISMATCH_WARNING = 'The model and loaded state dict do not match exactly'


def keep_teacher_option(config: str = TAT_VOC) -> str:
    """``--cfg-options`` item that sets keep_teacher=True on the config's
    FrozenTeacherCheckpointHook."""
    hooks = Config.fromfile(osp.join(REPO, config)).custom_hooks
    [index] = [i for i, h in enumerate(hooks)
               if h['type'] == 'FrozenTeacherCheckpointHook']
    return f'+custom_hooks.{index}.keep_teacher=True'


def _options(data_root, teacher, max_iters=2):
    opts = smoke_options('voc', data_root, max_iters=max_iters)
    opts = [o for o in opts if not o.startswith('model.teacher_ckpt=')]
    return opts + [f'model.teacher_ckpt={teacher}']


@pytest.fixture(scope='module')
def teacherless_run(voc_tat_run, module_tmp_path):
    """The TaT VOC run (2 iterations, checkpoint at 2) with its teacher
    from a weights file: the teacher of the session's TaT run, saved as an
    MMSegmentation checkpoint."""
    assert_ok(voc_tat_run['proc'])

    def train(folder):
        os.makedirs(folder, exist_ok=True)
        full = load_checkpoint(osp.join(voc_tat_run['work_dir'],
                                        'iter_2.pth'))
        teacher = osp.join(folder, 'teacher.pth')
        torch.save(dict(meta=dict(note='teacher'), state_dict={
            k[len('teacher.'):]: v
            for k, v in full['state_dict'].items()
            if k.startswith('teacher.')
        }), teacher)
        data_root = synthetic_voc(osp.join(folder, 'data'))
        work_dir = osp.join(folder, 'work_dir')
        proc = run_tool(['tools/train.py', TAT_VOC, '--work-dir', work_dir,
                         '--cfg-options'] + _options(data_root, teacher))
        return dict(returncode=proc.returncode, stdout=proc.stdout,
                    work_dir=work_dir, data_root=data_root, teacher=teacher,
                    full=osp.join(voc_tat_run['work_dir'], 'iter_2.pth'))

    return train(str(module_tmp_path('teacherless_run')))


def _teacher_tensors(path):
    state = torch.load(path, map_location='cpu', weights_only=True)
    return state['state_dict']


def test_the_checkpoint_leaves_the_teacher_out(teacherless_run):
    assert teacherless_run['returncode'] == 0, \
        teacherless_run['stdout'][-4000:]
    ckpt_path = osp.join(teacherless_run['work_dir'], 'iter_2.pth')
    ckpt = load_checkpoint(ckpt_path)
    prefixes = {k.split('.', 1)[0] for k in ckpt['state_dict']}
    assert prefixes == {'architecture', 'distiller'}
    record = ckpt['meta']['teacher_checkpoint']
    teacher = teacherless_run['teacher']
    with open(teacher, 'rb') as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    assert record == dict(path=teacher, file=teacher,
                          size=osp.getsize(teacher), sha256=sha,
                          keys=len(_teacher_tensors(teacher)))
    # the optimizer and the run's state are all there
    assert {'optimizer', 'param_schedulers', 'message_hub'} <= set(ckpt)
    # a fraction of the checkpoint with the teacher
    assert osp.getsize(ckpt_path) < 0.5 * osp.getsize(
        teacherless_run['full'])
    assert 'Checkpoints leave the frozen teacher out: its weights come ' \
        f'from {teacher}' in teacherless_run['stdout']


def test_resume_reloads_the_teacher_bitwise(teacherless_run, tmp_path):
    """The resumed run's teacher (kept in its checkpoint by keep_teacher)
    is bitwise the file's, which the first run trained with; mmengine
    reports no missing weights."""
    src = osp.join(teacherless_run['work_dir'], 'iter_2.pth')
    opts = _options(teacherless_run['data_root'], teacherless_run['teacher'],
                    max_iters=3) + ['+train_cfg.val_begin=1000',
                                    keep_teacher_option()]
    proc = run_tool(['tools/train.py', TAT_VOC, '--work-dir',
                     str(tmp_path), '--resume', src, '--cfg-options'] + opts)
    assert_ok(proc)
    assert 'resumed epoch: 0, iter: 2' in proc.stdout
    assert train_iters_logged(proc.stdout) == [3]
    assert MISMATCH_WARNING not in proc.stdout
    assert ('The checkpoint holds no teacher weights: the teacher is '
            f'{teacherless_run["teacher"]}, the file it was trained with'
            ) in proc.stdout
    after = load_checkpoint(str(tmp_path / 'iter_3.pth'))
    assert 'teacher_checkpoint' not in after['meta']
    saved = _teacher_tensors(teacherless_run['teacher'])
    resumed = {k[len('teacher.'):]: v for k, v in after['state_dict'].items()
               if k.startswith('teacher.')}
    assert resumed.keys() == saved.keys()
    for key, value in saved.items():
        assert torch.equal(resumed[key], value), key
    # and the student went on from the checkpoint
    before = load_checkpoint(src)['state_dict']
    key = 'architecture.decode_head.conv_seg.weight'
    assert not torch.equal(before[key], after['state_dict'][key])


def test_a_changed_or_missing_teacher_file_is_refused(teacherless_run,
                                                      tmp_path):
    src = osp.join(teacherless_run['work_dir'], 'iter_2.pth')
    changed = str(tmp_path / 'teacher_changed.pth')
    state = _teacher_tensors(teacherless_run['teacher'])
    key = 'decode_head.conv_seg.bias'
    state[key] = state[key] + 1
    torch.save(dict(state_dict=state), changed)
    missing = str(tmp_path / 'gone' / 'teacher.pth')
    for teacher, expected in (
            (changed, f'this run\'s model.teacher_ckpt = {changed} has '
             'other content ('),
            (missing, 'that file is not on this machine: '
             f'model.teacher_ckpt = {missing} does not exist. Put the file '
             'back there, or point --cfg-options model.teacher_ckpt= at a '
             'copy of it')):
        work_dir = tmp_path / osp.basename(osp.dirname(teacher))
        proc = run_tool(['tools/train.py', TAT_VOC, '--work-dir',
                         str(work_dir), '--resume', src, '--cfg-options'] +
                        _options(teacherless_run['data_root'], teacher, 3))
        assert proc.returncode == 1, proc.stdout[-3000:]
        assert (f'ERROR: --resume: The checkpoint {src} was saved without '
                'its frozen teacher, whose weights come from '
                f'{teacherless_run["teacher"]} (') in proc.stdout
        assert expected in proc.stdout
        assert 'Nothing was started.' in proc.stdout
        assert 'Traceback' not in proc.stdout
        assert not work_dir.exists()


def test_teacher_keys_missing_without_a_record_are_refused(teacherless_run,
                                                           tmp_path):
    """ResumeFitHook accepts a checkpoint without teacher.* only with the
    record of the file."""
    src = osp.join(teacherless_run['work_dir'], 'iter_2.pth')
    ckpt = load_checkpoint(src)
    del ckpt['meta']['teacher_checkpoint']
    stripped = str(tmp_path / 'iter_2.pth')
    torch.save(ckpt, stripped)
    proc = run_tool(['tools/train.py', TAT_VOC, '--work-dir',
                     str(tmp_path / 'work'), '--resume', stripped,
                     '--cfg-options'] +
                    _options(teacherless_run['data_root'],
                             teacherless_run['teacher'], 3))
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert f'ERROR: --resume: the checkpoint {stripped} was written by ' in \
        proc.stdout
    assert 'weights of this config\'s model are not in it (e.g. teacher.' in \
        proc.stdout


def test_tools_take_the_checkpoint(teacherless_run, tmp_path):
    """tools/test.py (no missing-weight warning), convert_student.py and
    visualize_tat.py with a checkpoint saved without its teacher."""
    src = osp.join(teacherless_run['work_dir'], 'iter_2.pth')
    data_root, teacher = teacherless_run['data_root'], \
        teacherless_run['teacher']
    proc = run_tool(['tools/test.py', TAT_VOC, src, '--work-dir',
                     str(tmp_path / 'test'), '--cfg-options'] +
                    _options(data_root, teacher))
    assert_ok(proc)
    assert MISMATCH_WARNING not in proc.stdout and 'mIoU' in proc.stdout

    dst = str(tmp_path / 'student.pth')
    proc = run_tool(['tools/convert_student.py', src, dst])
    assert_ok(proc)
    student = load_checkpoint(dst)['state_dict']
    full = load_checkpoint(src)['state_dict']
    assert student.keys() == {k[len('architecture.'):] for k in full
                              if k.startswith('architecture.')}

    image = sorted(glob.glob(osp.join(data_root, 'JPEGImages', '*.jpg')))[0]
    out = str(tmp_path / 'pictures')
    args = ['tools/analysis/visualize_tat.py', TAT_VOC, src, image, '--out',
            out, '--cfg-options', 'model.data_preprocessor.size=(128,128)',
            f'model.teacher_ckpt={teacher}']
    proc = run_tool(args)
    assert_ok(proc)
    assert osp.isfile(osp.join(out, 'bottleneck_attention.png'))
    # without its file the pictures are refused, naming it
    moved = str(tmp_path / 'moved.pth')
    shutil.copy(teacher, moved)
    args[-1] = 'model.teacher_ckpt=' + str(tmp_path / 'nowhere.pth')
    proc = run_tool(args)
    assert proc.returncode == 1
    assert 'was saved without its frozen teacher, whose weights come from ' \
        f'{teacher}' in proc.stdout
