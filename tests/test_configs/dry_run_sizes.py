"""The dry-run crop of a shipped config in the config tests."""


def crop_height(path: str) -> int:
    """The smallest dry-run crop height for a config: TaT's 8x8 patches
    in groups of 4 on the DeepLabV3 bottleneck need a 16-row map, i.e. 128
    rows at output stride 8; everything else runs at 64."""
    return 128 if path.startswith('configs/tat/deeplabv3_r101_') else 64
