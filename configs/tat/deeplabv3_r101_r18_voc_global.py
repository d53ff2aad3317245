# Global one-to-all TaT at full resolution, the form the hierarchy
# approximates (Lin et al., CVPR 2022, section 3.1), on mmtat's DeepLabV3
# R101-D8 -> R18-D8 VOC pair: one patch covering the whole map, one head, no
# anchors, so every position of the 64x64 bottleneck map of a 512x512 crop
# attends to all 4096 positions.  The release could not afford this at its
# map sizes (it materialises the L x L attention); TaTLoss never does from
# 2048 positions on (query-chunked attention on the CPU, SDPA on CUDA).  The
# grid is written as the release counts it (patch_grid=(1, 1): one patch
# whatever the map size) and the position form of the base is removed;
# alpha / beta and the distilled feature are deeplabv3_r101_r18_voc.py's.
# Part of the ``voc_ablation`` table; its cost against the default is
# measured with tools/benchmark.py (configs/tat/README.md, "The cost of
# global TaT").
_base_ = './deeplabv3_r101_r18_voc.py'

model = dict(
    distiller=dict(
        patch_size=None,
        patches_per_group=None,
        anchor_window=None,
        patch_grid=(1, 1),
        num_heads=1,
        anchor_weight=0.0))
