# Copyright (c) mmtat contributors. All rights reserved.
"""Gaussian blur of the image with a random standard deviation."""
from typing import Sequence

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

__all__ = ['RandomGaussianBlur']


@TRANSFORMS.register_module()
class RandomGaussianBlur(BaseTransform):
    """Blur the image (not the label) with probability ``prob``, with a
    Gaussian of standard deviation drawn uniformly from ``sigma_range``.

    The training augmentation of the authors' TaT segmentation release
    (``RandomGaussianBlur`` in its ``dataloaders/custom_transforms.py``:
    p = 0.5, PIL's ``GaussianBlur(radius=random.random())``, whose radius is
    the standard deviation). PIL approximates the Gaussian with box blurs;
    here it is OpenCV's Gaussian kernel (size from the deviation), so
    pixels differ slightly. MMSegmentation 1.2.2 has no 2-D Gaussian blur
    (``BioMedicalGaussianBlur`` is for 3-D volumes).

    Required keys: ``img``. Modified keys: ``img``.

    Args:
        prob (float): Probability of blurring, in ``[0, 1]``. Defaults to
            0.5.
        sigma_range (Sequence[float]): ``(low, high)``, ``0 <= low <=
            high``: the deviation is uniform in ``[low, high)`` pixels. A
            deviation of 0 leaves the image as it is. Defaults to
            ``(0.0, 1.0)``.
    """

    def __init__(self, prob: float = 0.5,
                 sigma_range: Sequence[float] = (0.0, 1.0)) -> None:
        super().__init__()
        if not isinstance(prob, (int, float)) or not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob!r}')
        if (not isinstance(sigma_range, (tuple, list))
                or len(sigma_range) != 2
                or not all(isinstance(v, (int, float)) for v in sigma_range)
                or not 0 <= sigma_range[0] <= sigma_range[1]):
            raise ValueError('sigma_range must be (low, high) with 0 <= low '
                             f'<= high, got {sigma_range!r}')
        self.prob = float(prob)
        self.sigma_range = (float(sigma_range[0]), float(sigma_range[1]))

    def transform(self, results: dict) -> dict:
        if np.random.rand() >= self.prob:
            return results
        sigma = np.random.uniform(*self.sigma_range)
        if sigma > 0:
            # ksize (0, 0): OpenCV sizes the kernel from sigma
            results['img'] = cv2.GaussianBlur(
                results['img'], (0, 0), sigmaX=sigma, sigmaY=sigma)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(prob={self.prob}, '
                f'sigma_range={self.sigma_range})')
