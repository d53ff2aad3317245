"""The hooks mmtat's tools add to every run, on a toy mmengine Runner."""
import logging
import os
import signal
import subprocess
import sys

import pytest
import torch
import torch.nn as nn
from mmengine.runner import CheckpointLoader
from toy_runner import SigtermAt, ToyModel, toy_runner

from mmtat.engine import (
    CheckpointFitHook,
    NonEmptyDataHook,
    PreemptionHook,
    ResumeFitHook,
    TrainingPreempted,
    install_termination_handler,
    termination,
    uninstall_termination_handler,
)
from mmtat.utils import InputError, RunRefused


def _runner(work_dir, max_iters, resume=False, size=8, hooks=()):
    return toy_runner(
        work_dir, max_iters,
        f'hooks_{work_dir.name}_{max_iters}_{resume}_{size}', hooks, size,
        resume=resume)


@pytest.fixture
def sigterm_handler():
    previous = signal.getsignal(signal.SIGTERM)
    install_termination_handler()
    yield
    uninstall_termination_handler()
    signal.signal(signal.SIGTERM, previous)


def test_sigterm_saves_current_iteration_and_stops(tmp_path,
                                                   sigterm_handler):
    runner = _runner(tmp_path, max_iters=10, hooks=[SigtermAt(3)])
    runner.register_hook(PreemptionHook())
    with pytest.raises(TrainingPreempted) as stop:
        runner.train()
    assert stop.value.iteration == 3
    assert stop.value.checkpoint == str(tmp_path / 'iter_3.pth')
    assert (tmp_path / 'last_checkpoint').read_text() == str(
        tmp_path / 'iter_3.pth')
    ckpt = CheckpointLoader.load_checkpoint(str(tmp_path / 'iter_3.pth'))
    assert ckpt['meta']['iter'] == 3
    assert 'optimizer' in ckpt and 'message_hub' in ckpt
    # still handled: a launcher's forwarded SIGTERM must not end it
    assert signal.getsignal(signal.SIGTERM) is termination._on_termination

    # the requeued job resumes at iteration 3
    install_termination_handler()
    resumed = _runner(tmp_path, max_iters=5, resume=True)
    resumed.register_hook(PreemptionHook())
    resumed.train()
    assert resumed.iter == 5


def test_sigterm_in_the_last_iteration_lets_the_run_finish(
        tmp_path, sigterm_handler):
    runner = _runner(tmp_path, max_iters=3, hooks=[SigtermAt(3)])
    runner.register_hook(PreemptionHook())
    runner.train()  # no TrainingPreempted: the run ends there anyway
    assert runner.iter == 3
    assert (tmp_path / 'iter_3.pth').exists()  # CheckpointHook's save_last


@pytest.fixture
def no_hang():
    """Fail instead of waiting forever if a guard does not work."""

    def fail(signum, frame):
        raise TimeoutError('the run hangs')

    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(120)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_empty_training_set_stops_before_first_batch(tmp_path, no_hang):
    runner = _runner(tmp_path, max_iters=2, size=0)
    runner.register_hook(NonEmptyDataHook())
    with pytest.raises(InputError, match='has 0 samples, so the run would '
                       'wait forever for its first batch'):
        runner.train()


class Student(nn.Module):

    def __init__(self, classes: int = 3) -> None:
        super().__init__()
        self.backbone = nn.Conv2d(3, 4, 1)
        self.bn = nn.BatchNorm2d(4)
        self.head = nn.Conv2d(4, classes, 1)


class Distill(nn.Module):
    """Shaped like an MMRazor distillation algorithm."""

    def __init__(self) -> None:
        super().__init__()
        self.architecture = Student()
        self.teacher = Student()
        self.distiller = nn.Linear(2, 2)


class FakeRunner:

    def __init__(self, model):
        self.model = model
        self.logger = logging.getLogger('fake_runner')


def _fit(model, state, allow=False):
    CheckpointFitHook('ckpt.pth', allow).after_load_checkpoint(
        FakeRunner(model), {'state_dict': state})


def test_fitting_checkpoint_passes():
    model = Student()
    state = dict(model.state_dict())
    state.pop('bn.num_batches_tracked')  # older checkpoints lack it
    _fit(model, state)
    _fit(model, {f'module.{k}': v for k, v in state.items()})  # DDP saved
    # the distillation checkpoint without the teacher: the student is what
    # the evaluation uses
    distill = Distill()
    _fit(distill, {
        k: v
        for k, v in distill.state_dict().items()
        if k.startswith('architecture.')
    })


def test_distillation_checkpoint_with_plain_config_is_refused():
    state = Distill().state_dict()
    with pytest.raises(InputError) as err:
        _fit(Student(), state)
    message = str(err.value)
    assert message.startswith('The checkpoint ckpt.pth does not fit the '
                              'model of this config: 8 of the 8 weights')
    assert 'e.g. backbone.weight, backbone.bias, bn.weight, ...' in message
    assert 'tools/convert_student.py' in message
    assert '--allow-partial-checkpoint' in message


def test_student_checkpoint_with_distillation_config_is_refused():
    with pytest.raises(InputError) as err:
        _fit(Distill(), Student().state_dict())
    assert 'architecture.backbone.weight' in str(err.value)
    assert "student's own config" in str(err.value)


def test_other_class_count_is_refused_and_can_be_allowed(caplog):
    state = Student(classes=5).state_dict()
    with pytest.raises(InputError) as err:
        _fit(Student(classes=3), state)
    assert ('2 have another shape (e.g. head.weight (model (3, 4, 1, 1), '
            'checkpoint (5, 4, 1, 1))') in str(err.value)
    with caplog.at_level(logging.WARNING, logger='fake_runner'):
        _fit(Student(classes=3), state, allow=True)
    assert 'Evaluating anyway' in caplog.text


def test_unexpected_tensors_beyond_tolerance():
    state = dict(Student().state_dict())
    state['aux_head.weight'] = torch.zeros(1)  # 1 of 9: above 1 %
    with pytest.raises(InputError) as err:
        _fit(Student(), state)
    assert '1 of its 9 tensors belong to no weight of the model (e.g. ' \
        'aux_head.weight)' in str(err.value)
    assert 'probably not' in str(err.value)


class WiderToy(ToyModel):
    """The toy model of another config: one more layer."""

    def __init__(self) -> None:
        super().__init__()
        self.extra = nn.Linear(1, 1)


def _resumed(work_dir, model, ckpt, optim_wrapper=None):
    runner = toy_runner(
        work_dir, 4, f'resumed_{work_dir.name}_{type(model).__name__}',
        model=model, optim_wrapper=optim_wrapper or dict(
            optimizer=dict(type='SGD', lr=0.01)),
        resume=True, load_from=ckpt)
    runner.register_hook(ResumeFitHook(ckpt, 'configs/other.py'))
    return runner


@pytest.fixture
def toy_checkpoint(tmp_path):
    first = _runner(tmp_path / 'first', max_iters=2)
    first.train()
    return str(tmp_path / 'first' / 'iter_2.pth')


def test_resume_of_the_same_model_passes(toy_checkpoint, tmp_path):
    runner = _resumed(tmp_path / 'again', ToyModel(), toy_checkpoint)
    runner.train()
    assert runner.iter == 4


def test_resume_of_another_model_is_refused_naming_both(toy_checkpoint,
                                                        tmp_path):
    runner = _resumed(tmp_path / 'wider', WiderToy(), toy_checkpoint)
    with pytest.raises(RunRefused) as err:
        runner.train()
    message = str(err.value)
    assert message.startswith(
        f'--resume: the checkpoint {toy_checkpoint} was written by a run of '
        'hooks_first_2_False_8, not for this config (configs/other.py): 2 '
        'of the 4 weights of this config\'s model are not in it (e.g. '
        'extra.weight, extra.bias)')
    assert 'its optimizer state has parameter groups of [2] parameters, ' \
        "this config's optimizer groups of [4]" in message
    assert f'--cfg-options load_from={toy_checkpoint} instead of --resume' \
        in message
    assert runner.iter == 0  # nothing was loaded or trained


def test_resume_with_other_optimizer_groups_is_refused(toy_checkpoint,
                                                       tmp_path):
    # the same weights, but every parameter in a group of its own (what a
    # paramwise_cfg does): torch's load_state_dict would fail
    runner = _resumed(
        tmp_path / 'groups', ToyModel(), toy_checkpoint,
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01),
                           paramwise_cfg=dict(bias_lr_mult=2.0)))
    with pytest.raises(RunRefused, match=r'parameter groups of \[2\] '
                       r"parameters, this config's optimizer groups of "
                       r'\[1, 1\]'):
        runner.train()


class FakeClock:

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_second_sigterm_ends_the_process_only_when_deliberate(
        sigterm_handler, monkeypatch):
    clock = FakeClock()
    ended = []
    monkeypatch.setattr(termination.time, 'monotonic', clock)
    monkeypatch.setattr(termination, '_end_now', ended.append)
    os.kill(os.getpid(), signal.SIGTERM)
    assert termination.termination_requested() and not ended
    # torchrun's agent (or srun) forwards the job's SIGTERM at once
    clock.now += 0.05
    os.kill(os.getpid(), signal.SIGTERM)
    clock.now += termination.SECOND_SIGTERM_AFTER_S - 0.1
    os.kill(os.getpid(), signal.SIGTERM)
    assert not ended and termination._TERMINATION['repeated'] == 2
    # a user's second request, seconds later: the default action, now
    clock.now += 0.1
    os.kill(os.getpid(), signal.SIGTERM)
    assert ended == [signal.SIGTERM]


def test_end_now_is_the_default_action():
    """What a deliberate second SIGTERM does: the process ends as killed
    by the signal (status 143 in a shell), in a child process here."""
    code = ('import os, signal, time\n'
            'from mmtat.engine import termination as hooks\n'
            'hooks.install_termination_handler()\n'
            'os.kill(os.getpid(), signal.SIGTERM)\n'
            'hooks._TERMINATION["first"] -= hooks.SECOND_SIGTERM_AFTER_S\n'
            'os.kill(os.getpid(), signal.SIGTERM)\n'
            'time.sleep(1)\n'
            'print("still running")\n')
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == -signal.SIGTERM, proc.stderr
    assert 'still running' not in proc.stdout
