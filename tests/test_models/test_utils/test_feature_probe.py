"""probe_network: outputs and records of one shape-only pass, where records
are changed in place, and the logged fallback to a real forward pass."""
import torch
from mmengine.model import BaseModel
from torch import nn

import mmtat  # noqa: F401
import mmtat.models.utils.feature_probe as probe_module
from mmtat.models.utils import probe_network


class Net(BaseModel):

    def __init__(self, numpy_step: bool = False) -> None:
        super().__init__()
        self.numpy_step = numpy_step
        self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.act = nn.ReLU(inplace=True)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = self.conv(inputs)
        if self.numpy_step:
            # an operation with no meta kernel
            x = x + torch.from_numpy(x.detach().numpy()) * 0
        return self.act(x)


def test_shape_pass_on_meta_changes_nothing_and_logs_nothing(monkeypatch):
    logged = []
    monkeypatch.setattr(probe_module, 'print_log',
                        lambda msg, **kwargs: logged.append(msg))
    model = Net().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = probe_network(model, ['conv', 'act'], (8, 6))
    assert not result.real_forward and logged == []
    assert result.outputs['conv'].device.type == 'meta'
    assert tuple(result.outputs['conv'].shape) == (1, 4, 4, 3)
    assert model.training
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, before[key])


def test_fallback_to_a_real_forward_is_logged(monkeypatch):
    logged = []
    monkeypatch.setattr(probe_module, 'print_log',
                        lambda msg, **kwargs: logged.append(msg))
    result = probe_network(Net(numpy_step=True), ['conv'], (8, 6))
    assert result.real_forward
    assert result.outputs['conv'].device.type == 'cpu'
    assert len(logged) == 1
    assert 'shape-only pass on the meta device failed' in logged[0]
    assert 'running the network once for real on a 8x6 zero input' in \
        logged[0]


def test_records_changed_in_place_are_found_with_their_module():
    from mmengine.registry import DefaultScope
    from mmrazor.models.task_modules.recorder import RecorderManager
    for numpy_step in (False, True):  # on meta and in the real fallback
        model = Net(numpy_step)
        # the recorders are MMRazor's: build them in its scope whatever
        # scope an earlier test of this worker left behind
        with DefaultScope.overwrite_default_scope('mmrazor'):
            recorders = RecorderManager(dict(
                conv=dict(type='ModuleOutputs', source='conv'),
                act=dict(type='ModuleOutputs', source='act')))
        recorders.initialize(model)
        result = probe_network(model, [], (8, 8), recorders=recorders)
        if numpy_step:
            # the sum makes a new tensor: the ReLU no longer changes conv's
            assert result.changed_in_place == {}
        else:
            assert result.changed_in_place == {
                'conv': "'act' (ReLU(inplace=True))"}
        assert set(result.records) == {'conv', 'act'}
        # the recorders are left empty
        assert all(not r.data_buffer for r in recorders.recorders.values())
