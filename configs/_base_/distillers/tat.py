# TaT (Lin et al., "Knowledge Distillation via the Target-aware
# Transformer", CVPR 2022) in mmtat's segmentation configs, each setting
# written once: the authors' release's two settings of geometry and weights
# (``tat_voc``, ``tat_cocostuff10k``: a TaTDistiller without its features),
# the feature each network pair distils (``tat_bottleneck``,
# ``tat_sep_bottleneck``, ``tat_fusion_conv``), and the distillers of the
# shipped configs, one setting on one pair's feature (``tat_<feature>_<
# setting>``, at the end).  New names only: a TaT config takes its network x
# dataset base and this file as its bases and assigns its distiller,
#   model = dict(
#       distiller=dict(_base_.tat_bottleneck_voc, input_size=_base_.crop_size))
# (mmengine refuses a key that two bases of one config define).
# ``input_size`` is the training crop of the network x dataset base (its
# ``data_preprocessor.size``): when the model is built, TaTDistiller passes
# an input of that size through both networks computing shapes only (on
# the meta device), finds the features' channels and checks the geometry on
# the real maps.  MMRazor's SingleTeacherDistill builds the distiller
# without telling it the crop, so every TaT config gives it (mmtat's
# LeanSingleTeacherDistill would also fill it from
# ``data_preprocessor.size``).  A run at another crop sets both,
#   --cfg-options model.data_preprocessor.size="(H,W)" \
#                 model.distiller.input_size="(H,W)"
# (a dry run of mmtat's tools does).  The query / key / value
# embeddings (1x1 conv + BN, as in the release) are trained by the
# algorithm's optimiser with the student (same learning rate, as in the
# release).

# The release's settings are on its 129x129 decoder map (DeepLabV3+ at
# output stride 16, 513x513 crops).  mmtat writes them in positions of the
# distilled map (``patch_size``, ``patches_per_group``, ``anchor_window``),
# so that a config means the same on another map or crop
# (docs/en/hyperparameters.md, "Geometry").  The weights are for an SGD
# recipe at lr 0.01 (every shipped segmentation config but SegFormer's,
# whose AdamW keeps the same TaT-to-CE balance, and the release-recipe ones,
# which set the release's own scale: ../recipes/tat_release_*.py).
#
# Pascal VOC (the release's train_voc_resnet18.sh, lr 0.007):
#   * patch grid 16x16 -> 129 // 16 = 8x8-position patches, 256 patches;
#   * 64 heads -> 256 / 64 = 4 patches per group;
#   * anchor grid 32x32 -> 129 // 32 = 4x4 pooling window;
#   * alpha / beta / gamma = 0.1 / 1.0 / 0.4.
tat_voc = dict(
    type='TaTDistiller',
    patch_size=(8, 8),
    patches_per_group=4,
    anchor_window=(4, 4),
    # alpha * lr_release / lr = 0.1 * 0.007 / 0.01: the release's own step
    # on the TaT term (SGD: lr x gradient; the release trains the student's
    # backbone and the embeddings at its base lr 0.007) under
    # MMSegmentation's lr 0.01.  Not 16 * alpha = 1.6, the release's
    # TaT-to-CE ratio (its CE is divided by its batch of 16): with
    # MMSegmentation's lr that takes TaT steps 23x the release's, which
    # dominated and ruined the student in the demo's measured study
    # (docs/en/hyperparameters.md, "Loss scale for MMSegmentation's recipe").
    loss_weight=0.07,
    patch_weight=1.0,  # beta
    anchor_weight=0.4)  # gamma

# COCO-Stuff10k (the release's train_cocostuff10k_resnet18.sh, lr 0.01):
#   * patch grid 32x32 -> 129 // 32 = 4x4-position patches, 1024 patches;
#   * 512 heads -> 1024 / 512 = 2 patches per group;
#   * anchor grid 32x32 -> 129 // 32 = 4x4 pooling window;
#   * alpha / beta / gamma = 0.6 / 1.0 / 1.0.
tat_cocostuff10k = dict(
    tat_voc,
    patch_size=(4, 4),
    patches_per_group=2,
    # alpha * lr_release / lr = 0.6 * 0.01 / 0.01: the release's own step on
    # the TaT term under MMSegmentation's lr, as for VOC (not 16 * alpha =
    # 9.6; docs/en/hyperparameters.md, "Loss scale for MMSegmentation's
    # recipe").
    loss_weight=0.6,
    anchor_weight=1.0)  # gamma; beta (patch_weight) is 1.0 as for VOC

# The distilled feature of each pair: the last decoder feature of both
# networks before its last ReLU, as the release distils its decoder
# (``pre_activation=True``: the map that enters the module's last
# activation, its BatchNorm output, negative values kept;
# docs/en/hyperparameters.md, "Feature point").
# DeepLabV3 (MMSegmentation's, output stride 8): ``decode_head.bottleneck``,
# 1/8 of the input.
tat_bottleneck = dict(
    bottleneck=dict(
        student=dict(module='decode_head.bottleneck', pre_activation=True),
        teacher=dict(module='decode_head.bottleneck', pre_activation=True)))
# DeepLabV3+: ``decode_head.sep_bottleneck``, the decoder's fusion of the
# ASPP output with the stride-4 backbone feature, 1/4 of the input: the
# release's feature.
tat_sep_bottleneck = dict(
    decoder=dict(
        student=dict(
            module='decode_head.sep_bottleneck', pre_activation=True),
        teacher=dict(
            module='decode_head.sep_bottleneck', pre_activation=True)))
# SegFormer: ``decode_head.fusion_conv``, SegformerHead's four MiT stages
# resized to 1/4 and fused, its last feature before the classifier.
tat_fusion_conv = dict(
    decoder=dict(
        student=dict(module='decode_head.fusion_conv', pre_activation=True),
        teacher=dict(module='decode_head.fusion_conv', pre_activation=True)))

# The distillers of the shipped configs: a setting on a pair's feature (the
# config adds its crop, ``input_size``).  Which setting a config takes, and
# why, is said in the config.
tat_bottleneck_voc = dict(tat_voc, features=tat_bottleneck)
tat_bottleneck_cocostuff10k = dict(tat_cocostuff10k, features=tat_bottleneck)
tat_sep_bottleneck_voc = dict(tat_voc, features=tat_sep_bottleneck)
tat_sep_bottleneck_cocostuff10k = dict(
    tat_cocostuff10k, features=tat_sep_bottleneck)
tat_fusion_conv_cocostuff10k = dict(tat_cocostuff10k, features=tat_fusion_conv)
