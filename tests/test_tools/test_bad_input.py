"""Wrong inputs to the tools fail fast: one paragraph naming the value and
the fix, exit status 1 (argparse's 2 for a malformed command line), no
traceback, nothing built or written.

Most cases call the tools' ``main`` in this process with the Runner
replaced by a trap, which proves that the refusal comes before any model or
data loader is built; two fresh interpreters check what a user sees, two
tool processes the checkpoint-to-model check of tools/test.py (it needs the
built model).
"""
import os
import os.path as osp
import shutil

import pytest
import torch
from mmengine.runner import Runner
from tool_utils import (
    BASELINE_VOC,
    TAT_COCO,
    TAT_VOC,
    assert_ok,
    in_process_options,
    run_tool,
    smoke_options,
)

from mmtat.engine import uninstall_termination_handler
from mmtat.tools import convert_student, test, train


@pytest.fixture
def no_runner(monkeypatch):
    """Fail the test if a tool gets as far as building a Runner."""

    def trap(*args, **kwargs):
        raise AssertionError('a Runner was built before the refusal')

    monkeypatch.setattr(Runner, 'from_cfg', trap)
    yield
    uninstall_termination_handler()  # tools/train.py installs it


def refused(main, argv) -> str:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    message = exc.value.code
    assert isinstance(message, str) and message.startswith('ERROR: '), \
        message
    assert '\n' not in message  # one paragraph
    return message


def _checkpoint(path, keep: float = 1.0) -> str:
    torch.save({'state_dict': {'w': torch.zeros(256, 256)}}, path)
    if keep < 1:
        data = open(path, 'rb').read()
        with open(path, 'wb') as f:
            f.write(data[:int(len(data) * keep)])
    return str(path)


def test_misspelt_cfg_option(no_runner, tmp_path):
    work_dir = tmp_path / 'w'
    message = refused(train.main, [
        BASELINE_VOC, '--work-dir', str(work_dir), '--cfg-options',
        'train_cfg.max_iter=10'
    ])
    assert 'train_cfg.max_iter: the config has no "max_iter" in ' \
        '"train_cfg"; did you mean train_cfg.max_iters?' in message
    assert '+train_cfg.val_begin=1000' in message
    assert not work_dir.exists()
    message = refused(test.main, [
        BASELINE_VOC, _checkpoint(tmp_path / 'c.pth'), '--cfg-options',
        'test_dataloader.dataset.data_roots=/x'
    ])
    assert 'did you mean test_dataloader.dataset.data_root?' in message


@pytest.mark.parametrize('case', ['missing', 'empty', 'truncated'])
def test_bad_checkpoint_files(no_runner, tmp_path, synthetic_data, case):
    path = str(tmp_path / f'{case}.pth')
    if case == 'empty':
        open(path, 'wb').close()
    elif case == 'truncated':
        _checkpoint(path, keep=0.5)
    reason = {
        'missing': 'does not exist',
        'empty': 'is empty (0 bytes)',
        'truncated': 'is truncated or corrupt'
    }[case]
    smoke = smoke_options('voc', synthetic_data['voc'], distill=False)

    message = refused(train.main, [
        BASELINE_VOC, '--work-dir', str(tmp_path / 'w'), '--resume', path
    ])
    assert f'--resume = {path}: the file {reason}' in message
    message = refused(train.main, [
        BASELINE_VOC, '--work-dir', str(tmp_path / 'w'), '--cfg-options',
        f'load_from={path}'
    ] + smoke)
    assert f'load_from = {path}: the file {reason}' in message
    # the teacher a distillation config loads while building the model
    message = refused(train.main, [
        TAT_VOC, '--work-dir', str(tmp_path / 'w'), '--cfg-options',
        f'model.teacher_ckpt={path}', 'model.architecture.pretrained=None'
    ])
    assert f'model.teacher_ckpt = {path}: the file {reason}' in message
    message = refused(test.main, [BASELINE_VOC, path])
    assert f'CHECKPOINT = {path}: the file {reason}' in message
    message = refused(convert_student.main, [path, str(tmp_path / 'o.pth')])
    assert f'SRC = {path}: the file {reason}' in message
    assert not (tmp_path / 'w').exists()
    assert not (tmp_path / 'o.pth').exists()


def test_empty_cocostuff_images_stop_at_once(no_runner, synthetic_data,
                                             tmp_path):
    """Training on an empty images/ folder used to wait forever."""
    root = str(tmp_path / 'coco')
    shutil.copytree(synthetic_data['coco'], root)
    images = osp.join(root, 'images', 'train2014')
    for name in os.listdir(images):
        os.remove(osp.join(images, name))
    message = refused(train.main, [
        TAT_COCO, '--work-dir', str(tmp_path / 'w'), '--cfg-options'
    ] + smoke_options('coco', root))
    assert f'the image folder {images} holds no *.jpg images' in message
    assert 'coco_stuff10k.py data/coco_stuff10k' in message


def test_other_wrong_inputs(no_runner, tmp_path):
    message = refused(train.main, ['configs/tat/deeplabv3_r101_r18_vco.py'])
    assert 'the config file configs/tat/deeplabv3_r101_r18_vco.py does ' \
        'not exist' in message
    user_cfg = tmp_path / 'mine.py'
    user_cfg.write_text(
        "_base_ = ['mmtat::tat/deeplabv3_r101_r18_vco.py']\n")
    message = refused(train.main, [str(user_cfg)])
    assert 'mmtat::tat/deeplabv3_r101_r18_vco.py is not a config shipped ' \
        'with mmtat' in message
    assert 'Did you mean mmtat::tat/deeplabv3_r101_r18_voc.py' in message
    message = refused(train.main, [
        BASELINE_VOC, '--amp', '--cfg-options',
        'optim_wrapper.type=ApexOptimWrapper'
    ])
    assert '--amp needs optim_wrapper.type OptimWrapper' in message
    message = refused(convert_student.main, [
        _checkpoint(tmp_path / 'c.pth'), str(tmp_path / 'c.pth')])
    assert 'must not overwrite' in message


def test_command_line_shows_one_error_line_no_traceback(tmp_path):
    proc = run_tool(['tools/train.py', BASELINE_VOC, '--work-dir',
                     str(tmp_path / 'w'), '--cfg-options',
                     'train_cfg.max_iter=10'], timeout=300, fresh=True)
    assert proc.returncode == 1
    assert proc.stdout.startswith('ERROR: --cfg-options names key(s)')
    assert 'Traceback' not in proc.stdout
    assert not (tmp_path / 'w').exists()
    proc = run_tool(['tools/train.py', BASELINE_VOC, '--cfg-options',
                     'train_cfg'], timeout=300, fresh=True)
    assert proc.returncode == 2
    assert proc.stdout.startswith('usage: train.py')
    assert '"train_cfg" is not KEY=VALUE' in proc.stdout


@pytest.fixture(scope='module')
def student_checkpoint(voc_tat_run, module_tmp_path):
    assert_ok(voc_tat_run['proc'])
    dst = str(module_tmp_path('student') / 'student.pth')
    convert_student.convert_student(
        osp.join(voc_tat_run['work_dir'], 'iter_2.pth'), dst)
    return dst


def _test_opts(data_root):
    return [
        o for o in smoke_options('voc', data_root, distill=True)
        if o.startswith(('test_dataloader.', 'model.'))
    ]


def test_distillation_checkpoint_with_student_config(voc_tat_run, tmp_path):
    """mmengine would load nothing of it (strict=False, a warning) and
    score a randomly initialised network."""
    ckpt = osp.join(voc_tat_run['work_dir'], 'iter_2.pth')
    work_dir = tmp_path / 'w'
    opts = [
        o for o in smoke_options('voc', voc_tat_run['data_root'],
                                 distill=False)
        if o.startswith('test_dataloader.')
    ]
    proc = run_tool(['tools/test.py', BASELINE_VOC, ckpt, '--work-dir',
                     str(work_dir), '--cfg-options'] + opts, timeout=300)
    assert proc.returncode == 1, proc.stdout[-3000:]
    out = proc.stdout
    assert 'Traceback' not in out
    assert f'ERROR: The checkpoint {ckpt} does not fit the model of this ' \
        'config:' in out
    assert 'weights the evaluation uses are not in it (e.g. ' \
        'backbone.stem.0.weight' in out
    assert 'tools/convert_student.py CKPT student.pth' in out
    assert '--allow-partial-checkpoint' in out
    assert 'Iter(test)' not in out  # nothing was evaluated
    assert not work_dir.exists()  # the refused run's log was removed


def test_student_checkpoint_with_distillation_config(voc_tat_run,
                                                     student_checkpoint,
                                                     tmp_path):
    proc = run_tool([
        'tools/test.py', TAT_VOC, student_checkpoint, '--work-dir',
        str(tmp_path / 'w'), '--cfg-options'
    ] + _test_opts(voc_tat_run['data_root']), timeout=300)
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert 'architecture.backbone.stem.0.weight' in proc.stdout
    assert "evaluate it with the student's own config" in proc.stdout
    assert 'Traceback' not in proc.stdout


LAUNCH_ENV = ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT',
              'SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST')


@pytest.fixture
def no_launcher_env(monkeypatch):
    """A process started by hand, on a machine without CUDA."""
    for name in LAUNCH_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    return monkeypatch


def test_launcher_without_its_environment(no_runner, no_launcher_env,
                                          tmp_path):
    work_dir = tmp_path / 'w'
    message = refused(train.main, [BASELINE_VOC, '--launcher', 'pytorch',
                                   '--work-dir', str(work_dir)])
    assert message.startswith(
        'ERROR: --launcher pytorch runs this process as one of a '
        'distributed run that torchrun (python -m torch.distributed.run) '
        'starts')
    assert 'this process lacks RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT' \
        in message
    assert 'bash tools/dist_train.sh CONFIG N [options]' in message
    assert 'leave --launcher out' in message
    message = refused(test.main, [BASELINE_VOC, _checkpoint(
        tmp_path / 'c.pth'), '--launcher', 'pytorch'])
    assert 'bash tools/dist_test.sh CONFIG CHECKPOINT N' in message
    message = refused(train.main, [BASELINE_VOC, '--launcher', 'slurm'])
    assert 'that srun starts' in message
    assert 'lacks SLURM_PROCID, SLURM_NTASKS, SLURM_NODELIST' in message
    assert 'bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG' in message
    assert not work_dir.exists()


def test_nccl_without_cuda_names_the_cpu_backend(no_runner, no_launcher_env,
                                                 tmp_path):
    for name, value in (('RANK', '0'), ('WORLD_SIZE', '1'),
                        ('MASTER_ADDR', '127.0.0.1'), ('MASTER_PORT', '1')):
        no_launcher_env.setenv(name, value)
    # MMSegmentation's default_runtime.py asks for NCCL
    message = refused(train.main, [BASELINE_VOC, '--launcher', 'pytorch',
                                   '--work-dir', str(tmp_path / 'w')])
    assert "env_cfg.dist_cfg.backend = 'nccl': this distributed backend " \
        'needs CUDA, which this machine does not have' in message
    assert '--cfg-options env_cfg.dist_cfg.backend=gloo' in message
    message = refused(test.main, [
        BASELINE_VOC, _checkpoint(tmp_path / 'c.pth'), '--launcher',
        'pytorch'])
    assert 'env_cfg.dist_cfg.backend=gloo' in message


def test_teacher_checkpoint_of_the_student_is_refused(voc_tat_run,
                                                      student_checkpoint,
                                                      tmp_path):
    """The R18 student's weights as the R101 teacher's: before, the run
    trained to the end with a randomly initialised teacher."""
    from mmtat.engine import uninstall_termination_handler
    work_dir = tmp_path / 'w'
    opts = smoke_options('voc', voc_tat_run['data_root']) + [
        f'model.teacher_ckpt={student_checkpoint}'
    ] + in_process_options(work_dir)
    try:
        message = refused(train.main, [TAT_VOC, '--work-dir', str(work_dir),
                                       '--cfg-options'] + opts)
    finally:
        uninstall_termination_handler()
    assert message.startswith(
        f'ERROR: model.teacher_ckpt = {student_checkpoint} does not fit the '
        'teacher of this config: ')
    assert 'teacher weights are not in it (e.g. backbone.layer1.0.conv3.' \
        'weight' in message
    assert 'have another shape (e.g. backbone.layer1.0.conv1.weight (model ' \
        '(64, 64, 1, 1), checkpoint (64, 64, 3, 3))' in message
    # the two ResNets' depths, from their blocks
    assert ("It is the checkpoint of a ResNet-18, and this config's teacher "
            'is a ResNet-101: give a ResNet-101 checkpoint as '
            'model.teacher_ckpt') in message
    assert '--allow-partial-teacher' in message
    assert not work_dir.exists()  # nothing trained, the run's folder gone
