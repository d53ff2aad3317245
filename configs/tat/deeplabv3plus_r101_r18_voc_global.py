# Global one-to-all TaT at full resolution on the release's feature: the
# DeepLabV3+ R101-D8 -> R18-D8 VOC pair (deeplabv3plus_r101_r18_voc.py) with
# one patch covering the whole stride-4 decoder map, one head and no anchors,
# so every position of the 128x128 map of a 512x512 crop attends to all
# 16384 positions (the release's 129x129 map would be 16641): the
# computation the release's hierarchy replaces, whose 16384 x 16384
# attention it could not hold.  TaTLoss computes it without materialising
# the attention (query-chunked on the CPU, SDPA on CUDA); the settings:
# ../_base_/distillers/tat_global.py.  alpha / beta and the distilled
# feature are deeplabv3plus_r101_r18_voc.py's.  Part of the
# ``voc_ablation`` table; its cost against the default is measured with
# tools/benchmark.py (docs/en/performance.md, "The cost of global TaT").
_base_ = [
    './deeplabv3plus_r101_r18_voc.py',
    '../_base_/distillers/tat_global.py',
]

model = dict(distiller={{_base_.tat_global}})
