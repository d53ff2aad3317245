# Global one-to-all TaT at full resolution, the form the hierarchy
# approximates (Lin et al., CVPR 2022, section 3.1), on mmtat's DeepLabV3
# R101-D8 -> R18-D8 VOC pair: one patch covering the whole map, one head, no
# anchors, so every position of the 64x64 bottleneck map of a 512x512 crop
# attends to all 4096 positions.  The release could not afford this at its
# map sizes (it materialises the L x L attention); TaTLoss never does from
# 2048 positions on (query-chunked attention on the CPU, SDPA on CUDA).  The
# settings: ../_base_/distillers/tat_global.py; alpha / beta and the
# distilled feature are deeplabv3_r101_r18_voc.py's.
# Part of the ``voc_ablation`` table; its cost against the default is
# measured with tools/benchmark.py (docs/en/performance.md, "The cost of
# global TaT").
_base_ = [
    './deeplabv3_r101_r18_voc.py',
    '../_base_/distillers/tat_global.py',
]

model = dict(distiller={{_base_.tat_global}})
