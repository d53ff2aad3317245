"""The release's transforms that MMSegmentation lacks: RandomGaussianBlur
(training) and ResizeForScoring (the release's 513x513 scoring)."""
import numpy as np
import pytest
from mmengine.registry import DefaultScope
from mmseg.registry import TRANSFORMS

import mmtat  # noqa: F401  (registers the transforms)


@pytest.fixture(autouse=True)
def mmseg_scope():
    # a default scope left by another test of the worker (e.g. a Runner's
    # 'mmengine') would send TRANSFORMS.build to that scope's registry
    with DefaultScope.overwrite_default_scope('mmseg'):
        yield


def image(seed=0, size=(40, 30)):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size + (3, ), dtype=np.uint8)


def test_blur_smooths_the_image_and_leaves_the_label():
    blur = TRANSFORMS.build(
        dict(type='RandomGaussianBlur', prob=1.0, sigma_range=(1.0, 1.0)))
    img, label = image(), np.arange(1200, dtype=np.uint8).reshape(40, 30)
    out = blur.transform(dict(img=img.copy(), gt_seg_map=label.copy()))
    assert out['img'].shape == img.shape and out['img'].dtype == np.uint8
    # noise blurred with sigma 1: much less variation between neighbours
    def roughness(x):
        return np.abs(np.diff(x.astype(float), axis=0)).mean()

    assert roughness(out['img']) < 0.6 * roughness(img)
    assert abs(out['img'].mean() - img.mean()) < 2
    np.testing.assert_array_equal(out['gt_seg_map'], label)


def test_blur_probability_and_zero_deviation():
    np.random.seed(0)
    never = TRANSFORMS.build(dict(type='RandomGaussianBlur', prob=0.0))
    img = image()
    np.testing.assert_array_equal(never.transform(dict(img=img))['img'], img)
    zero = TRANSFORMS.build(
        dict(type='RandomGaussianBlur', prob=1.0, sigma_range=(0, 0)))
    np.testing.assert_array_equal(zero.transform(dict(img=img))['img'], img)
    half = TRANSFORMS.build(
        dict(type='RandomGaussianBlur', prob=0.5, sigma_range=(0.5, 1.0)))
    blurred = sum(
        not np.array_equal(half.transform(dict(img=img))['img'], img)
        for _ in range(400))
    assert 160 < blurred < 240  # p = 0.5; 4 standard deviations


@pytest.mark.parametrize('kwargs, match', [
    (dict(prob=1.5), r'prob must be in \[0, 1\], got 1.5'),
    (dict(sigma_range=(1, 0)), r'sigma_range must be \(low, high\) with '
     r'0 <= low <= high, got \(1, 0\)'),
    (dict(sigma_range=3), 'sigma_range must be'),
])
def test_blur_refuses_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TRANSFORMS.build(dict(type='RandomGaussianBlur', **kwargs))


def test_resize_for_scoring_scores_at_the_fixed_size():
    resize = TRANSFORMS.build(dict(type='ResizeForScoring', size=513))
    img = image(size=(375, 500))
    label = np.zeros((375, 500), np.uint8)
    label[:, 250:] = 7
    label[0, 0] = 255
    out = resize.transform(
        dict(img=img, gt_seg_map=label, ori_shape=(375, 500),
             img_shape=(375, 500)))
    assert out['img'].shape == (513, 513, 3)
    assert out['gt_seg_map'].shape == (513, 513)
    # nearest: no new label values
    assert set(np.unique(out['gt_seg_map'])) == {0, 7, 255}
    # MMSegmentation resizes predictions to ori_shape: scored at 513x513
    assert out['ori_shape'] == out['img_shape'] == (513, 513)
    assert out['scale_factor'] == pytest.approx((513 / 500, 513 / 375))
    with pytest.raises(ValueError, match='size'):
        TRANSFORMS.build(dict(type='ResizeForScoring', size=(513, 0)))
