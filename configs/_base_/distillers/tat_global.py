# Global one-to-all TaT at full resolution, the form TaT's hierarchy
# approximates (Lin et al., CVPR 2022, section 3.1): one patch covering the
# whole map, one head and no anchors, so that every position of the
# distilled map attends to all of them.  The grid is written as the release
# counts it (patch_grid=(1, 1): one patch whatever the map size) and the
# position form of the TaT config it is applied to is removed; alpha / beta
# and the distilled feature stay that config's.  A new name only
# (``tat_global``): a config takes a TaT config and this file as its bases
# and merges it into the inherited distiller,
#   model = dict(distiller={{_base_.tat_global}})
# (mmengine refuses a key that two bases of one config define).
tat_global = dict(
    patch_size=None,
    patches_per_group=None,
    anchor_window=None,
    patch_grid=(1, 1),
    num_heads=1,
    anchor_weight=0.0)
