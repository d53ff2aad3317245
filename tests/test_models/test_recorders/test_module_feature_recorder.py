"""ModuleFeatureRecorder: a conv module's map before its activation (the
norm layer's output, negative values kept), copies of outputs that change
in place later, and the version check every MMRazor module recorder gets
from mmtat.compat.recorded_tensors."""
import pytest
import torch
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from torch import nn

import mmtat  # noqa: F401  (compat: recorder version check)
from mmtat.compat import RecordChangedInPlace
from mmtat.models import ModuleFeatureRecorder, final_activation


class Head(nn.Module):
    """conv module -> conv module, as a decode head's bottleneck."""

    def __init__(self, norm=True, sequential=False):
        super().__init__()
        norm_cfg = dict(type='BN') if norm else None
        if sequential:
            self.block = nn.Sequential(
                DepthwiseSeparableConvModule(3, 4, 3, padding=1,
                                             norm_cfg=norm_cfg),
                DepthwiseSeparableConvModule(4, 4, 3, padding=1,
                                             norm_cfg=norm_cfg))
        else:
            self.block = ConvModule(3, 4, 1, norm_cfg=norm_cfg)
        self.out = nn.Conv2d(4, 2, 1)

    def forward(self, x):
        return self.out(self.block(x))


def record(recorder, model, x):
    recorder.initialize(model)
    with recorder:
        model(x)
    return recorder.get_record_data()


def norm_output(model, x, norm_path):
    """The norm layer's output, taken with a separate copying hook."""
    seen = {}

    def keep(module, inputs, output):
        seen['y'] = output.clone()  # returns None: the output stays as is

    layer = dict(model.named_modules())[norm_path]
    handle = layer.register_forward_hook(keep)
    with torch.no_grad():
        model(x)
    handle.remove()
    return seen['y']


@pytest.mark.parametrize('sequential', [False, True])
def test_pre_activation_records_the_norm_output_with_its_negatives(
        sequential):
    torch.manual_seed(0)
    model = Head(sequential=sequential).train()
    x = torch.randn(2, 3, 6, 6)
    norm = ('block.1.pointwise_conv.bn' if sequential else 'block.bn')
    recorder = ModuleFeatureRecorder('block', pre_activation=True)
    feature = record(recorder, model, x)
    assert recorder.activation_path == norm.replace('bn', 'activate')
    # the same batch again for the reference (train-mode BN: the same
    # statistics, the running ones are not used)
    expected = norm_output(model, x, norm)
    assert feature.min() < 0
    torch.testing.assert_close(feature, expected)
    # and the module's output itself is the ReLU of it
    with torch.no_grad():
        torch.testing.assert_close(model.block(x), expected.clamp(min=0))


def test_pre_activation_record_carries_the_gradient_to_the_norm_layer():
    torch.manual_seed(0)
    model = Head().train()
    recorder = ModuleFeatureRecorder('block', pre_activation=True)
    feature = record(recorder, model, torch.randn(2, 3, 5, 5))
    # only the negative part: zero gradient if the ReLU's output was taken
    (-feature.clamp(max=0)).sum().backward()
    assert model.block.bn.weight.grad.abs().sum() > 0
    assert model.block.conv.weight.grad.abs().sum() > 0


def test_copy_keeps_the_output_that_an_in_place_activation_changes():
    torch.manual_seed(0)
    model = Head().train()
    x = torch.randn(2, 3, 4, 4)
    kept = record(ModuleFeatureRecorder('block.bn', copy=True), model, x)
    assert kept.min() < 0
    torch.testing.assert_close(kept, norm_output(model, x, 'block.bn'))


def test_an_output_changed_in_place_is_refused_when_read():
    model = Head().train()
    recorder = ModuleFeatureRecorder('block.bn')
    recorder.initialize(model)
    with recorder:
        model(torch.randn(2, 3, 4, 4))
    with pytest.raises(RecordChangedInPlace, match=r"'block\.bn'.*changed "
                       r'in\s+place after it was recorded \(tensor version'):
        recorder.get_record_data()


def test_mmrazor_module_recorders_refuse_records_changed_in_place():
    from mmrazor.models.task_modules.recorder import (
        ModuleInputsRecorder,
        ModuleOutputsRecorder,
    )
    model = Head().train()
    outputs = ModuleOutputsRecorder('block.bn')
    # the ReLU's input is the norm output, changed by the ReLU itself
    inputs = ModuleInputsRecorder('block.activate')
    untouched = ModuleOutputsRecorder('block')
    for recorder in (outputs, inputs, untouched):
        recorder.initialize(model)
    with outputs, inputs, untouched:
        model(torch.randn(2, 3, 4, 4))
    for recorder in (outputs, inputs):
        with pytest.raises(RecordChangedInPlace, match=recorder.source):
            recorder.get_record_data()
    assert untouched.get_record_data().min() >= 0  # the ReLU output: fine
    # a fresh pass starts a fresh record
    model.block.activate.inplace = False
    with outputs:
        model(torch.randn(2, 3, 4, 4))
    assert outputs.get_record_data().min() < 0


def test_inference_tensors_are_not_checked():
    model = Head().eval()
    recorder = ModuleFeatureRecorder('block.bn')
    recorder.initialize(model)
    with recorder, torch.inference_mode():
        model(torch.randn(1, 3, 4, 4))
    assert recorder.get_record_data().min() >= 0  # no version to compare


def test_final_activation_errors_name_the_module():
    assert final_activation(Head().block, 'block')[0] == 'block.activate'
    with pytest.raises(ValueError, match=r"'block' ends with no "
                       r"activation layer .*'block\.bn'"):
        final_activation(ConvModule(3, 4, 1, norm_cfg=dict(type='BN'),
                                    act_cfg=None), 'block')
    with pytest.raises(ValueError, match=r"order=\('conv', 'act', 'norm'\)"):
        final_activation(ConvModule(3, 4, 1, norm_cfg=dict(type='BN'),
                                    order=('conv', 'act', 'norm')), 'block')


def test_sync_bn_reverted_by_the_runner_keeps_recorder_hooks():
    """mmengine's Runner replaces SyncBN layers after the recorders hooked
    them (mmtat.compat.sync_bn_hooks)."""
    import mmengine.runner.runner as runner_module
    model = nn.Sequential(
        ConvModule(3, 4, 1, norm_cfg=dict(type='SyncBN')), nn.Conv2d(4, 2, 1))
    recorder = ModuleFeatureRecorder('0.bn', copy=True)
    recorder.initialize(model)
    handle = model[0].bn.register_forward_hook(lambda m, i, o: None)
    model = runner_module.revert_sync_batchnorm(model)
    assert not isinstance(model[0].bn, nn.SyncBatchNorm)
    with recorder:
        model.train()(torch.randn(2, 3, 4, 4))
    assert recorder.get_record_data().min() < 0
    hooks = len(model[0].bn._forward_hooks)
    handle.remove()  # a handle made on the replaced layer still works
    assert len(model[0].bn._forward_hooks) == hooks - 1


def test_a_replaced_layer_is_hooked_again_when_recording_starts():
    """Also when the layer was replaced without mmtat's fix (mmengine's own
    function, imported before mmtat)."""
    from mmengine.model.utils import revert_sync_batchnorm
    model = nn.Sequential(
        ConvModule(3, 4, 1, norm_cfg=dict(type='SyncBN')), nn.Conv2d(4, 2, 1))
    recorder = ModuleFeatureRecorder('0.bn', copy=True)
    recorder.initialize(model)
    model = revert_sync_batchnorm(model)
    assert not model[0].bn._forward_hooks  # mmengine dropped the hook
    for _ in range(2):
        with recorder:
            model.train()(torch.randn(2, 3, 4, 4))
        assert len(recorder.data_buffer) == 1
        assert recorder.get_record_data().min() < 0
