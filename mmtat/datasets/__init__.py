"""Datasets of mmtat: CamVid for MMSegmentation, the authors' release's
transforms MMSegmentation lacks, and generated data (segmentation and
ImageNet-layout classification) for demos and tests."""
from .camvid import CamVidDataset
from .synthetic import (
                        ADE20K_CLASSES,
                        CAMVID_CLASSES,
                        CITYSCAPES_CLASSES,
                        COCOSTUFF_CLASSES,
                        IMAGENET_CLASSES,
                        SHAPES,
                        SYNTHETIC_LAYOUTS,
                        VOC_CLASSES,
                        SyntheticLayout,
                        make_synthetic_ade20k,
                        make_synthetic_camvid,
                        make_synthetic_cityscapes,
                        make_synthetic_cocostuff10k,
                        make_synthetic_dataset,
                        make_synthetic_imagenet,
                        make_synthetic_voc,
)
from .transforms import RandomGaussianBlur, ResizeForScoring

__all__ = [
    'CamVidDataset', 'RandomGaussianBlur', 'ResizeForScoring',
    'make_synthetic_dataset', 'make_synthetic_voc',
    'make_synthetic_cocostuff10k', 'make_synthetic_cityscapes',
    'make_synthetic_camvid', 'make_synthetic_ade20k',
    'make_synthetic_imagenet', 'SYNTHETIC_LAYOUTS', 'SyntheticLayout',
    'VOC_CLASSES', 'COCOSTUFF_CLASSES', 'CITYSCAPES_CLASSES',
    'CAMVID_CLASSES', 'ADE20K_CLASSES', 'IMAGENET_CLASSES', 'SHAPES'
]
