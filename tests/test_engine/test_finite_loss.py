"""FiniteLossHook: the first iteration with a NaN or infinite loss (or
weight) stops the run with one paragraph, before anything of that state is
saved; the loss scaler's skipped steps of a mixed-precision run are not
divergence."""
import math

import pytest
import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS
from mmengine.runner import CheckpointLoader
from toy_runner import ToyModel, toy_runner

from mmtat.engine import FiniteLossHook, TrainingDiverged


class BadAt(ToyModel):
    """ToyModel with an extra loss term that is ``value`` (of ``dtype``) in
    iteration ``at`` (1-based) and 0 otherwise."""

    def __init__(self, at, value=math.nan, dtype=torch.float32):
        super().__init__()
        self.at, self.value, self.dtype = at, value, dtype
        self.calls = 0

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = super().forward(inputs, data_samples, mode)
        if mode != 'loss':
            return out
        self.calls += 1
        # parse_losses logs the total as 'loss': the toy's term is renamed
        out = {'toy.loss_mse': out['loss']}
        pred = self.linear(torch.stack(inputs)).to(self.dtype)
        scale = self.value if self.calls == self.at else 0.0
        # its gradient is not finite either (as a float16 overflow's)
        out['extra.loss_x'] = pred.mean().abs() * scale
        out['extra.acc'] = torch.tensor(50.0)
        return out


def _runner(tmp_path, model, max_iters=5, lr=0.01, hooks=(), wrapper=None):
    optim = dict(optimizer=dict(type='SGD', lr=lr))
    if wrapper is not None:
        optim['type'] = wrapper
    return toy_runner(tmp_path, max_iters, f'finite_{tmp_path.name}', hooks,
                      checkpoint_interval=1, model=model,
                      optim_wrapper=optim)


def test_nan_loss_stops_before_its_checkpoint(tmp_path):
    runner = _runner(tmp_path, BadAt(3), hooks=[dict(type='FiniteLossHook')])
    with pytest.raises(TrainingDiverged) as stop:
        runner.train()
    assert stop.value.iteration == 3
    # iterations 1 and 2 were saved, nothing of iteration 3
    assert sorted(p.name for p in tmp_path.glob('*.pth')) == [
        'iter_1.pth', 'iter_2.pth']
    pointer = (tmp_path / 'last_checkpoint').read_text()
    assert pointer == str(tmp_path / 'iter_2.pth')
    state = CheckpointLoader.load_checkpoint(pointer)['state_dict']
    assert all(torch.isfinite(v).all() for v in state.values())
    message = stop.value.message
    assert message.startswith(
        'Training diverged at iteration 3: loss, extra.loss_x not finite; '
        'the loss terms of this iteration: loss: nan, toy.loss_mse: ')
    assert (', extra.loss_x: nan; learning rate 0.01. No checkpoint of this '
            'state was written; the newest one, '
            f'{tmp_path / "iter_2.pth"}, is from before it. Usual causes: a '
            'learning rate too high') in message
    assert 'extra.acc' not in message  # not a loss term
    assert 'allow_nonfinite=True' in message and '\n' not in message
    # the paragraph is in the run's log file too
    logs = list(tmp_path.glob('*/*.log'))
    assert logs and 'Training diverged at iteration 3' in logs[0].read_text()


def test_a_finite_term_is_listed_with_its_value(tmp_path):
    runner = _runner(tmp_path, BadAt(1, math.inf))
    runner.register_hook(FiniteLossHook())
    with pytest.raises(TrainingDiverged) as stop:
        runner.train()
    assert stop.value.iteration == 1
    assert ('the loss terms of this iteration: loss: inf, toy.loss_mse: '
            in stop.value.message)
    assert ', extra.loss_x: inf; learning rate' in stop.value.message
    assert ('No checkpoint of this state was written (nor any before it in '
            f'{tmp_path})') in stop.value.message
    assert not list(tmp_path.glob('*.pth'))


def test_a_weight_made_non_finite_by_the_update_stops_too(tmp_path):
    """A finite loss whose update overflows a weight: the checkpoint of
    that iteration would hold it."""
    class Steep(ToyModel):

        def forward(self, inputs, data_samples=None, mode='tensor'):
            out = super().forward(inputs, data_samples, mode)
            return {'loss': out['loss'] * 1e30} if mode == 'loss' else out

    runner = _runner(tmp_path, Steep(), lr=1e10)
    runner.register_hook(FiniteLossHook())
    with pytest.raises(TrainingDiverged) as stop:
        runner.train()
    assert 'made the trained weight linear.' in stop.value.message
    assert 'learning rate 1e+10' in stop.value.message
    assert not (tmp_path / f'iter_{stop.value.iteration}.pth').exists()
    assert not (tmp_path / 'last_checkpoint').exists() or torch.isfinite(
        CheckpointLoader.load_checkpoint(
            (tmp_path / 'last_checkpoint').read_text())['state_dict']
        ['linear.weight']).all()


def test_weights_are_checked_where_they_may_be_saved(tmp_path):
    """Between checkpoints the weights are not looked at (a check per
    iteration costs time): the next loss shows them."""

    class Steep(ToyModel):

        def forward(self, inputs, data_samples=None, mode='tensor'):
            out = super().forward(inputs, data_samples, mode)
            return {'loss': out['loss'] * 1e30} if mode == 'loss' else out

    runner = _runner(tmp_path, Steep(), lr=1e10)
    [ckpt] = [h for h in runner.hooks if type(h).__name__ == 'CheckpointHook']
    ckpt.interval = 4
    hook = FiniteLossHook()
    runner.register_hook(hook)
    with pytest.raises(TrainingDiverged) as stop:
        runner.train()
    assert stop.value.iteration == 2
    assert 'loss not finite' in stop.value.message
    assert not list(tmp_path.glob('*.pth'))


def test_allow_nonfinite_trains_on(tmp_path):
    runner = _runner(tmp_path, BadAt(2), max_iters=3,
                     hooks=[dict(type='FiniteLossHook',
                                 allow_nonfinite=True)])
    runner.train()
    assert runner.iter == 3 and (tmp_path / 'iter_3.pth').is_file()


def test_the_tool_keeps_the_configs_switch(tmp_path):
    """mmtat's train.py adds FiniteLossHook(); a config's
    allow_nonfinite=True stays (add_hook fills only unset values)."""
    from mmtat.tools._common import add_hook
    runner = _runner(tmp_path, ToyModel(), hooks=[
        dict(type='FiniteLossHook', allow_nonfinite=True)])
    hook = add_hook(runner, FiniteLossHook())
    assert hook.allow_nonfinite is True
    assert sum(isinstance(h, FiniteLossHook) for h in runner.hooks) == 1


def test_it_runs_before_the_checkpoint_and_logger_hooks(tmp_path):
    runner = _runner(tmp_path, ToyModel(), hooks=[dict(type='FiniteLossHook')])
    names = [type(h).__name__ for h in runner.hooks]
    at = names.index('FiniteLossHook')
    for later in ('LoggerHook', 'ParamSchedulerHook', 'CheckpointHook'):
        assert names.index(later) > at


# --------------------------------------------------------------------------
# mixed precision: the loss scaler's skipped steps
# --------------------------------------------------------------------------
@OPTIM_WRAPPERS.register_module(force=True)
class CpuScaledOptimWrapper(OptimWrapper):
    """What AmpOptimWrapper does with a dynamic loss scale (mmengine's
    needs a GPU): torch's GradScaler on the CPU."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.loss_scaler = torch.amp.GradScaler('cpu', init_scale=2.0**8)

    def backward(self, loss, **kwargs):
        self.loss_scaler.scale(loss).backward(**kwargs)
        self._inner_count += 1

    def step(self, **kwargs):
        self.loss_scaler.step(self.optimizer, **kwargs)
        self.loss_scaler.update()


def test_skipped_scaler_steps_are_not_divergence(tmp_path, caplog):
    """An infinite float16 term (a float16 overflow): the scaler skips the
    update and lowers its scale; training goes on and the count is logged
    at the end."""
    model = BadAt(2, math.inf, dtype=torch.float16)
    runner = _runner(tmp_path, model, max_iters=4,
                     wrapper='CpuScaledOptimWrapper')
    hook = FiniteLossHook()
    runner.register_hook(hook)
    runner.train()
    assert runner.iter == 4
    assert runner.optim_wrapper.loss_scaler.get_scale() == 2.0**7
    assert hook.skipped_text() == ('the loss scaler (mixed precision) '
                                   'skipped 1 of 4 updates for float16 '
                                   'overflow')
    log = next(tmp_path.glob('*/*.log')).read_text()
    assert ('The loss scaler (mixed precision) skipped 1 of 4 updates for '
            'float16 overflow.') in log
    state = CheckpointLoader.load_checkpoint(
        str(tmp_path / 'iter_4.pth'))['state_dict']
    assert all(torch.isfinite(v).all() for v in state.values())


def test_a_float32_nan_under_mixed_precision_is_divergence(tmp_path):
    runner = _runner(tmp_path, BadAt(3, math.nan, dtype=torch.float32),
                     wrapper='CpuScaledOptimWrapper')
    runner.register_hook(FiniteLossHook())
    with pytest.raises(TrainingDiverged) as stop:
        runner.train()
    assert stop.value.iteration == 3
    assert 'loss, extra.loss_x not finite' in stop.value.message
    assert ('Before it, the loss scaler (mixed precision) skipped 0 of 2 '
            'updates') in stop.value.message
    assert (tmp_path / 'last_checkpoint').read_text() == str(
        tmp_path / 'iter_2.pth')
