"""mmtat.models.ops.batch_norm: the embeddings' BatchNorm never updates the
running statistics itself; the statistics it returns, applied once with
update_running_stats_sequentially, leave the layer as the release's calls
(per image) or the layer's own call (batch) would."""
import copy

import pytest
import torch
import torch.nn as nn

from mmtat.models.ops import conv_batch_norm, update_running_stats_sequentially


def _layers(bn_type=nn.BatchNorm2d, momentum=0.1):
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, 1, bias=False)
    bn = bn_type(4, momentum=momentum).train()
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.5, 0.5)
    return conv, bn


def _images():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 3, 5, 6, generator=g)
    return x * torch.tensor([1., 2., 3.]).view(-1, 1, 1, 1)


def _state(bn):
    return {k: v.clone() for k, v in bn.state_dict().items()}


@pytest.mark.parametrize('momentum', [0.1, None])
@pytest.mark.parametrize('bn_type', [nn.BatchNorm2d, nn.SyncBatchNorm],
                         ids=['bn', 'sync_bn'])
def test_batch_statistics_leave_the_layer_as_its_own_call(bn_type,
                                                          momentum):
    """SyncBN without a process group normalises like BN; the layer's own
    forward runs (so a SyncBN layer would gather across processes)."""
    conv, bn = _layers(bn_type, momentum)
    want_bn = copy.deepcopy(bn)
    x = _images()
    before = _state(bn)
    buffers = [id(b) for b in bn.buffers()]
    out, (means, vars_) = conv_batch_norm(conv, bn, x, per_image=False)
    for name, value in _state(bn).items():
        assert torch.equal(value, before[name]), name
    assert [id(b) for b in bn.buffers()] == buffers
    assert bn.momentum == momentum
    assert means.shape == vars_.shape == (1, 4)
    want = want_bn(conv(x))
    torch.testing.assert_close(out, want)
    update_running_stats_sequentially(bn, means, vars_)
    torch.testing.assert_close(bn.running_mean, want_bn.running_mean)
    torch.testing.assert_close(bn.running_var, want_bn.running_var)
    assert int(bn.num_batches_tracked) == int(want_bn.num_batches_tracked)


@pytest.mark.parametrize('momentum', [0.1, None])
def test_per_image_statistics_leave_the_layer_as_one_call_per_image(
        momentum):
    conv, bn = _layers(momentum=momentum)
    want_bn = copy.deepcopy(bn)
    x = _images()
    before = _state(bn)
    out, (means, vars_) = conv_batch_norm(conv, bn, x, per_image=True)
    for name, value in _state(bn).items():
        assert torch.equal(value, before[name]), name
    assert means.shape == vars_.shape == (3, 4)
    want = torch.cat([want_bn(conv(x[i:i + 1])) for i in range(3)])
    torch.testing.assert_close(out, want)
    update_running_stats_sequentially(bn, means, vars_)
    torch.testing.assert_close(bn.running_mean, want_bn.running_mean)
    torch.testing.assert_close(bn.running_var, want_bn.running_var)
    assert int(bn.num_batches_tracked) == int(want_bn.num_batches_tracked)


@pytest.mark.parametrize('per_image', [True, False])
def test_eval_mode_and_untracked_layers_return_no_statistics(per_image):
    conv, bn = _layers()
    x = _images()
    out, stats = conv_batch_norm(conv, bn.eval(), x, per_image)
    assert stats is None
    torch.testing.assert_close(out, bn(conv(x)))
    untracked = nn.BatchNorm2d(4, track_running_stats=False).train()
    _, stats = conv_batch_norm(conv, untracked, x, per_image)
    assert stats is None
