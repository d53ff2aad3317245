"""Dataset helpers of mmtat (generated data for demos and tests)."""
from .synthetic import (
                        COCOSTUFF_CLASSES,
                        SHAPES,
                        VOC_CLASSES,
                        make_synthetic_cocostuff10k,
                        make_synthetic_voc,
)

__all__ = [
    'make_synthetic_voc', 'make_synthetic_cocostuff10k', 'VOC_CLASSES',
    'COCOSTUFF_CLASSES', 'SHAPES'
]
