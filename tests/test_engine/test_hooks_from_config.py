"""mmtat's hooks built by mmengine from a config's ``custom_hooks`` alone,
as MMSegmentation's own tools/train.py builds them: each is registered in
mmengine's root HOOKS (found from every scope) and needs no argument."""
import logging
import os
import os.path as osp
import signal

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.registry import HOOKS
from mmengine.runner import Runner
from PIL import Image
from torch import nn
from toy_runner import SigtermAt, ToyDataset, ToyModel, toy_runner

import mmtat.engine.hooks as mmtat_hooks
from mmtat.checks.data_check import config_datasets
from mmtat.checks.dry_run import make_dry_run_dataset, shrink_for_dry_run
from mmtat.engine import TrainingPreempted, uninstall_termination_handler
from mmtat.engine.termination import termination_handler_installed
from mmtat.utils import DataSampleError, InputError, RunRefused

#: hook -> the file of mmtat/engine/hooks/ it is defined in, alone
HOOK_FILES = {
    'PreemptionHook': 'preemption_hook',
    'FiniteLossHook': 'finite_loss_hook',
    'FrozenTeacherCheckpointHook': 'frozen_teacher_checkpoint_hook',
    'NonEmptyDataHook': 'non_empty_data_hook',
    'DataGuardHook': 'data_guard_hook',
    'ResumeFitHook': 'resume_fit_hook',
    'CheckpointFitHook': 'checkpoint_fit_hook',
    'TeacherCheckpointHook': 'teacher_checkpoint_hook',
    'TeacherMetricHook': 'teacher_metric_hook',
    'WorkDirLockHook': 'work_dir_lock_hook',
}


def test_every_hook_of_the_package_is_listed():
    assert sorted(mmtat_hooks.__all__) == sorted(
        list(HOOK_FILES) +
        ['TEACHER_METRIC_WARN_RATIO', 'TeacherMIoUHook', 'TrainingDiverged'])
    found = {
        osp.splitext(name)[0]
        for name in os.listdir(osp.dirname(mmtat_hooks.__file__))
        if name.endswith('.py') and name != '__init__.py'
    }
    assert found == set(HOOK_FILES.values())


@pytest.mark.parametrize('name', sorted(HOOK_FILES))
def test_hook_builds_from_its_name_in_every_scope(name):
    from mmrazor.registry import HOOKS as MMRAZOR_HOOKS
    from mmseg.registry import HOOKS as MMSEG_HOOKS
    cls = getattr(mmtat_hooks, name)
    assert cls.__module__ == f'mmtat.engine.hooks.{HOOK_FILES[name]}'
    assert HOOKS.get(name) is cls
    for registry in (HOOKS, MMSEG_HOOKS, MMRAZOR_HOOKS):
        assert type(registry.build(dict(type=name))) is cls


def test_the_former_name_of_the_teacher_metric_hook_still_builds():
    """Configs written for TeacherMIoUHook build TeacherMetricHook's
    behaviour, with a warning that names the new name."""
    from mmseg.registry import HOOKS as MMSEG_HOOKS
    with pytest.warns(DeprecationWarning,
                      match=r"^TeacherMIoUHook is now TeacherMetricHook .*"
                      r"write dict\(type='TeacherMetricHook'\)"):
        hook = MMSEG_HOOKS.build(dict(type='TeacherMIoUHook'))
    assert isinstance(hook, mmtat_hooks.TeacherMetricHook)
    assert hook.published is None and not hook.logged


def _runner(work_dir, max_iters, hooks, size=8, **extra):
    return toy_runner(work_dir, max_iters,
                      f'from_config_{work_dir.name}_{max_iters}', hooks,
                      size, **extra)


@pytest.fixture
def default_sigterm():
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    yield
    uninstall_termination_handler()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def test_preemption_hook_installs_the_handler_itself(tmp_path,
                                                     default_sigterm):
    preempted = _runner(tmp_path / 'a', 10, [
        dict(type='PreemptionHook'), SigtermAt(3)])
    with pytest.raises(TrainingPreempted) as stop:
        preempted.train()
    assert stop.value.checkpoint == str(tmp_path / 'a' / 'iter_3.pth')
    assert (tmp_path / 'a' / 'iter_3.pth').is_file()
    # still handled after the stop: a forwarded SIGTERM must not end it
    assert termination_handler_installed()
    # the next run of this process starts from a clean request
    finished = _runner(tmp_path / 'b', 4, [dict(type='PreemptionHook')])
    finished.train()
    assert finished.iter == 4
    # and gives SIGTERM its default action back when it is done
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


class Count(BaseMetric):

    def process(self, data_batch, data_samples):
        self.results.append(len(data_samples))

    def compute_metrics(self, results):
        return dict(samples=sum(results))


def test_preemption_hook_leaves_a_test_run_alone(tmp_path, default_sigterm):

    class Check(Hook):

        def before_test(self, runner):
            self.handler = signal.getsignal(signal.SIGTERM)

    check = Check()
    runner = Runner(
        model=ToyModel(),
        work_dir=str(tmp_path),
        test_dataloader=dict(
            dataset=ToyDataset(4),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=2,
            num_workers=0),
        test_cfg=dict(),
        test_evaluator=Evaluator(Count()),
        custom_hooks=[dict(type='PreemptionHook'), check],
        experiment_name=f'from_config_test_{tmp_path.name}',
        default_scope='mmengine')
    runner.test()
    assert check.handler == signal.SIG_DFL


def test_non_empty_data_hook_from_config(tmp_path):
    runner = _runner(tmp_path, 2, [dict(type='NonEmptyDataHook')], size=0)
    with pytest.raises(InputError, match='has 0 samples'):
        runner.train()


class WiderToy(ToyModel):

    def __init__(self) -> None:
        super().__init__()
        self.extra = nn.Linear(1, 1)


@pytest.fixture
def toy_checkpoint(tmp_path):
    _runner(tmp_path / 'first', 2, []).train()
    return str(tmp_path / 'first' / 'iter_2.pth')


def test_resume_fit_hook_from_config(toy_checkpoint, tmp_path):
    hooks = [dict(type='ResumeFitHook'), dict(type='CheckpointFitHook')]
    runner = _runner(tmp_path / 'resumed', 4, hooks, model=WiderToy(),
                     resume=True, load_from=toy_checkpoint)
    with pytest.raises(RunRefused) as err:
        runner.train()
    assert str(err.value).startswith(
        f'--resume: the checkpoint {toy_checkpoint} was written by a run '
        'of from_config_first_2, not for this config: 2 of the 4 weights')
    # load_from without resume (fine-tuning): neither hook objects
    runner = _runner(tmp_path / 'loaded', 4, hooks, model=WiderToy(),
                     load_from=toy_checkpoint)
    runner.train()
    assert runner.iter == 4


class FakeRunner:

    def __init__(self, model, cfg=None, load_from=None):
        self.model = model
        self.cfg = Config(cfg or {})
        self._load_from = load_from
        self.logger = logging.getLogger('fake_runner')


class Net(nn.Module):

    def __init__(self, width: int = 4) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, width, 1)


class Algorithm(nn.Module):

    def __init__(self) -> None:
        super().__init__()
        self.architecture = Net()
        self.teacher = Net()


def test_checkpoint_fit_hook_names_the_runners_checkpoint(tmp_path):
    runner = FakeRunner(Net(), load_from='work_dirs/x/iter_8.pth')
    hook = HOOKS.build(dict(type='CheckpointFitHook'))
    with pytest.raises(RunRefused, match='^The checkpoint '
                       'work_dirs/x/iter_8.pth does not fit'):
        hook.after_load_checkpoint(runner,
                                   {'state_dict': Net(5).state_dict()})


def test_teacher_checkpoint_hook_reads_the_config(tmp_path):
    path = str(tmp_path / 'other_teacher.pth')
    torch.save({'state_dict': Net(5).state_dict()}, path)
    runner = FakeRunner(Algorithm(), dict(model=dict(teacher_ckpt=path)))
    hook = HOOKS.build(dict(type='TeacherCheckpointHook'))
    with pytest.raises(RunRefused, match=f'^model.teacher_ckpt = {path} '
                       'does not fit the teacher'):
        hook.before_train(runner)
    # a plain model: nothing to compare
    hook.before_train(FakeRunner(Net(), dict(model=dict(teacher_ckpt=path))))


def test_teacher_metric_hook_finds_the_published_miou(caplog):
    cfg = Config.fromfile('configs/tat/deeplabv3_r101_r18_voc.py',
                          import_custom_modules=False)
    runner = FakeRunner(None, dict(model=dict(
        teacher_ckpt=cfg.model.teacher_ckpt)))
    hook = HOOKS.build(dict(type='TeacherMetricHook'))
    from mmengine.logging import MMLogger
    logger = MMLogger.get_instance('teacher_miou_from_config')
    records = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    logger.addHandler(handler)
    try:
        hook.after_val_epoch(runner, {'teacher.mIoU': np.float32(77.0)})
    finally:
        logger.removeHandler(handler)
    [text] = records
    assert text.startswith('Teacher: validation mIoU 77.00; published ')
    assert 'deeplabv3_r101' in text


class AnyBatch(BaseModel):
    """Trains on anything: a data loading test needs no network."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return dict(loss=self.weight.pow(2).sum() + 1)


def test_data_guard_hook_from_config_guards_the_workers(tmp_path):
    """An IterBasedTrainLoop forks its loader's workers before any hook
    runs; the hook starts them again once the pipeline is guarded."""
    cfg = Config.fromfile('configs/baselines/deeplabv3_r18_voc.py')
    data_root = make_dry_run_dataset(cfg, str(tmp_path / 'data'))
    cfg = shrink_for_dry_run(cfg, data_root=data_root,
                             work_dir=str(tmp_path / 'work'))
    [(_, dataset_cfg), *_] = config_datasets(cfg, ('train', ))
    dataset_cfg['pipeline'] = [
        t for t in dataset_cfg['pipeline']
        if t['type'] in ('LoadImageFromFile', 'LoadAnnotations',
                         'PackSegInputs')
    ]
    runner = Runner(
        model=AnyBatch(),
        work_dir=str(tmp_path / 'work'),
        train_dataloader=dict(
            dataset=dataset_cfg,
            sampler=dict(type='InfiniteSampler', shuffle=False),
            batch_size=1,
            num_workers=1,
            persistent_workers=True,
            collate_fn=pseudo_collate),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=4),
        default_hooks=dict(checkpoint=None),
        custom_hooks=[dict(type='DataGuardHook')],
        experiment_name=f'data_guard_{tmp_path.name}',
        default_scope='mmseg')
    dataset = runner.build_dataloader(runner._train_dataloader).dataset
    label = dataset.get_data_info(1)['seg_map_path']
    image = Image.open(label)
    values = np.array(image)
    values[0, :5] = 40
    out = Image.fromarray(values, 'P')
    out.putpalette(image.getpalette())
    out.save(label)
    with pytest.raises(DataSampleError) as err:
        runner.train()
    assert label in str(err.value)
    assert 'python tools/misc/check_data.py CONFIG' in str(err.value)
