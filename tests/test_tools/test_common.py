"""mmtat.tools._common: add_hook, a tool adds its hooks to a run once, also
when the config's custom_hooks list them (as the shipped configs do);
load_config, every tool's config reading, takes the config caches."""
from mmengine.runner import Runner
from toy_runner import ToyDataset, ToyModel

import mmtat  # noqa: F401  (registers the hooks)
import mmtat.compat
from mmtat.engine import DataGuardHook, PreemptionHook, TeacherCheckpointHook
from mmtat.tools._common import add_hook, load_config


def _runner(tmp_path, custom_hooks):
    return Runner(
        model=ToyModel(),
        work_dir=str(tmp_path),
        train_dataloader=dict(
            dataset=ToyDataset(4),
            sampler=dict(type='InfiniteSampler', shuffle=False),
            batch_size=2,
            num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=1),
        custom_hooks=custom_hooks,
        experiment_name=f'add_hook_{tmp_path.name}',
        default_scope='mmengine')


def _of_type(runner, cls):
    return [h for h in runner.hooks if isinstance(h, cls)]


def test_a_hook_the_config_lacks_is_added(tmp_path):
    runner = _runner(tmp_path, [])
    hook = PreemptionHook()
    assert add_hook(runner, hook) is hook
    assert _of_type(runner, PreemptionHook) == [hook]


def test_a_hook_the_config_lists_is_not_added_twice(tmp_path):
    runner = _runner(tmp_path, [
        dict(type='PreemptionHook'),
        dict(type='DataGuardHook'),
        dict(type='TeacherCheckpointHook', teacher_ckpt='mine.pth'),
    ])
    [listed] = _of_type(runner, PreemptionHook)
    assert add_hook(runner, PreemptionHook()) is listed
    assert _of_type(runner, PreemptionHook) == [listed]
    # the tool's values fill in what the config's hook leaves open ...
    guard = add_hook(runner, DataGuardHook('python tools/misc/check_data.py '
                                           'c.py --cfg-options ...'))
    assert _of_type(runner, DataGuardHook) == [guard]
    assert guard.command.endswith('c.py --cfg-options ...')
    teacher = add_hook(runner, TeacherCheckpointHook(
        'config.pth', allow_partial=True))
    assert _of_type(runner, TeacherCheckpointHook) == [teacher]
    assert teacher.allow_partial  # --allow-partial-teacher
    # ... and what it sets stays
    assert teacher.teacher_ckpt == 'mine.pth'


def test_load_config_enables_the_config_caches(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(mmtat.compat, 'enable_config_caches',
                        lambda: calls.append('enabled'))
    config = tmp_path / 'config.py'
    config.write_text('value = 1\n')
    assert load_config(str(config)).value == 1
    assert calls == ['enabled']
