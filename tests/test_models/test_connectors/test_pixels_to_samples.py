"""PixelsToSamples: segmentation logits as (pixels, classes) samples, what
MMRazor's DISTLoss needs to compute DIST as its authors do on maps."""
import pytest
import torch

import mmtat  # noqa: F401
from mmtat.models import PixelsToSamples


def _pearson_rows(a, b):
    a = a - a.mean(1, keepdim=True)
    b = b - b.mean(1, keepdim=True)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1))


def _dist_per_pixel(logits_s, logits_t):
    """DIST of Huang et al. on a (B, C, H, W) map, written out: every pixel
    is a sample; inter-class = 1 - mean Pearson correlation of the class
    probabilities of each pixel, intra-class = 1 - mean Pearson correlation
    of each class over all pixels of the batch."""
    num_classes = logits_s.size(1)
    p_s = logits_s.softmax(1).permute(1, 0, 2, 3).reshape(num_classes, -1)
    p_t = logits_t.softmax(1).permute(1, 0, 2, 3).reshape(num_classes, -1)
    inter = 1 - _pearson_rows(p_s.t(), p_t.t()).mean()
    intra = 1 - _pearson_rows(p_s, p_t).mean()
    return inter + intra


def test_every_pixel_becomes_a_row_of_its_class_scores():
    x = torch.randn(2, 5, 3, 4)
    rows = PixelsToSamples()(x)
    assert rows.shape == (2 * 3 * 4, 5) and rows.is_contiguous()
    for b, y, col in ((0, 0, 0), (0, 2, 3), (1, 1, 2)):
        torch.testing.assert_close(rows[b * 12 + y * 4 + col], x[b, :, y, col])
    # SegFormer's heads give channels-last logits: same rows
    torch.testing.assert_close(
        PixelsToSamples()(x.contiguous(memory_format=torch.channels_last)),
        rows)


def test_gradient_reaches_the_map_and_bad_input_is_named():
    x = torch.randn(2, 3, 2, 2, requires_grad=True)
    (PixelsToSamples()(x) * torch.arange(3.)).sum().backward()
    # d/dx of sum(row * [0, 1, 2]) is the class index at every pixel
    assert torch.equal(x.grad, torch.arange(3.).view(1, 3, 1, 1).expand(
        2, 3, 2, 2))
    with pytest.raises(ValueError, match=r'takes a \(B, C, H, W\) map, got '
                       r'\(6, 3\)'):
        PixelsToSamples()(torch.randn(6, 3))


def test_mmrazor_dist_loss_on_it_is_dist_per_pixel():
    from mmrazor.models.losses import DISTLoss
    torch.manual_seed(0)
    logits_s = torch.randn(2, 7, 4, 5)
    logits_t = torch.randn(2, 7, 4, 5)
    loss = DISTLoss(inter_loss_weight=1.0, intra_loss_weight=1.0, tau=1.0,
                    loss_weight=1.0)
    to_rows = PixelsToSamples()
    value = loss(to_rows(logits_s), to_rows(logits_t))
    torch.testing.assert_close(value, _dist_per_pixel(logits_s, logits_t))
    # on the map itself DISTLoss would correlate over the wrong axes
    assert not torch.allclose(loss(logits_s, logits_t), value)
