"""Pictures of what TaT matches (see :mod:`.tat_pictures`), for a config and
checkpoint (:mod:`.config_pictures`)."""
from .config_pictures import (
    DEFAULT_POSITIONS,
    RANDOM_WEIGHTS,
    visualize_config,
)
from .tat_pictures import (
    anchor_attention_map,
    draw_tat_pictures,
    inspect_tat,
    patch_attention_map,
    pca_colours,
    prepare_image,
)

__all__ = [
    'prepare_image', 'inspect_tat', 'pca_colours', 'patch_attention_map',
    'anchor_attention_map', 'draw_tat_pictures', 'visualize_config',
    'DEFAULT_POSITIONS', 'RANDOM_WEIGHTS'
]
