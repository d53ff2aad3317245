"""A random segmentation batch as a data loader hands it to a model's data
pre-processor: uint8 images and integer label maps, with the metainfo that
MMSegmentation's heads read."""
from typing import Tuple

import torch


def random_seg_batch(crop: Tuple[int, int],
                     num_classes: int,
                     batch_size: int = 2,
                     seed: int = 0) -> dict:
    """``dict(inputs=[...], data_samples=[...])`` of ``batch_size`` random
    ``crop``-sized images with labels in ``[0, num_classes)``.

    Two images by default: DeepLabV3's image-pooling branch trains a
    BatchNorm on a 1x1 map, which needs more than one value per channel.
    """
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    gen = torch.Generator().manual_seed(seed)
    h, w = crop
    data = dict(inputs=[], data_samples=[])
    for _ in range(batch_size):
        data['inputs'].append(
            torch.randint(0, 256, (3, h, w), generator=gen,
                          dtype=torch.uint8))
        sample = SegDataSample(metainfo=dict(
            img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w)))
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, num_classes, (1, h, w), generator=gen))
        data['data_samples'].append(sample)
    return data
