# Copyright (c) mmtat contributors. All rights reserved.
"""Resize image and label to one size and score the prediction there."""
from typing import Sequence

import mmcv
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS

from ...utils.arguments import as_pair

__all__ = ['ResizeForScoring']


@TRANSFORMS.register_module()
class ResizeForScoring(BaseTransform):
    """Resize the image (bilinear) and its label (nearest) to ``size`` and
    make that the size the prediction is scored at.

    This is how the authors' TaT segmentation release validates
    (``FixedResize(513)`` in ``transform_val``): the metric compares
    predictions and labels at 513x513, not at the image's own resolution.
    It is **not** MMSegmentation's protocol, which scores at the original
    resolution; numbers from the two do not compare. MMSegmentation resizes
    predictions back to ``ori_shape``, so ``ori_shape`` is set to ``size``
    as well. Put it after ``LoadAnnotations``.

    Required keys: ``img``, ``gt_seg_map`` (optional). Modified keys:
    ``img``, ``gt_seg_map``, ``img_shape``, ``ori_shape``. Added keys:
    ``scale_factor``.

    Args:
        size (int | Sequence[int]): ``(H, W)`` (an int: square).
    """

    def __init__(self, size: Sequence[int]) -> None:
        super().__init__()
        self.size = as_pair(size, 'size')

    def transform(self, results: dict) -> dict:
        h, w = self.size
        old_h, old_w = results['img'].shape[:2]
        results['img'] = mmcv.imresize(
            results['img'], (w, h), interpolation='bilinear')
        if results.get('gt_seg_map') is not None:
            results['gt_seg_map'] = mmcv.imresize(
                results['gt_seg_map'], (w, h), interpolation='nearest')
        results['img_shape'] = (h, w)
        results['ori_shape'] = (h, w)
        results['scale_factor'] = (w / old_w, h / old_h)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(size={self.size})'
