"""tests/release_reference.py: the release reference itself. Its
embeddings by hand are the loss's modules, and it takes the release's
(grid) settings only; its tiling is checked against explicit slicing in
test_tat_geometry.py."""
import pytest
import torch
from release_reference import (
    functional_embeddings,
    release_arguments,
    release_tat_loss,
)

import mmtat  # noqa: F401
from mmtat.models import TaTLoss


@pytest.mark.parametrize('training', [True, False])
def test_functional_embeddings_are_the_modules(training):
    torch.manual_seed(0)
    loss = TaTLoss(3, 5, embed_kernel_size=3).double().train(training)
    with torch.no_grad():
        for seq in (loss.query_embed, loss.key_embed):
            seq[1].running_mean.uniform_(-1, 1)
            seq[1].running_var.uniform_(0.5, 2)
            seq[1].weight.uniform_(0.5, 1.5)
    embed = functional_embeddings(loss)
    assert list(embed.parameters) == [n for n, _ in loss.named_parameters()]
    s = torch.randn(2, 3, 6, 7, dtype=torch.float64)
    t = torch.randn(2, 5, 6, 7, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(embed.query(s), loss.query_embed(s))
        torch.testing.assert_close(embed.key(t), loss.key_embed(t))
    identity = functional_embeddings(TaTLoss(3, 5, use_key_embed=False))
    assert identity.key(t) is t
    assert not any(n.startswith('key') for n in identity.parameters)


def test_release_arguments_are_grid_counts_only():
    loss = TaTLoss(3, 5, patch_grid=(2, 3), num_heads=4, anchor_grid=2,
                   loss_weight=0.5, norm_stats='batch')
    assert release_arguments(loss) == dict(
        patch_grid=(2, 3), num_heads=4, anchor_grid=(2, 2),
        patch_weight=1.0, anchor_weight=0.4, loss_weight=0.5,
        batch_stats=True)
    with pytest.raises(ValueError, match='the release takes grid counts; '
                       r'this loss has patch_size=\(4, 4\)'):
        release_arguments(TaTLoss(3, 5, patch_size=4, num_heads=4))


def test_one_image_at_a_time_or_the_whole_batch():
    """Per-image statistics normalise away an image's scale and offset
    (1x1 convs, no bias), batch statistics do not."""
    torch.manual_seed(0)
    loss = TaTLoss(3, 4, patch_grid=2, num_heads=2, anchor_grid=2).double()
    for seq in (loss.query_embed, loss.key_embed, loss.value_embed):
        seq[1].eps = 1e-12  # BN's eps would make the scale visible
    embeddings = functional_embeddings(loss)[:3]
    args = release_arguments(loss)
    s0 = torch.randn(1, 3, 4, 4, dtype=torch.float64)
    t0 = torch.randn(1, 4, 4, 4, dtype=torch.float64)
    s = torch.cat([s0, 3 * s0 + 1])
    t = torch.cat([t0, t0])
    alone = release_tat_loss(s0, t0, embeddings, **args)
    torch.testing.assert_close(release_tat_loss(s, t, embeddings, **args),
                               alone)
    args['batch_stats'] = True
    together = release_tat_loss(s, t, embeddings, **args)
    assert not torch.allclose(together, alone)
