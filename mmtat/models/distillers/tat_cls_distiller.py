# Copyright (c) mmtat contributors. All rights reserved.
"""TaT on image classifiers, in the form of the authors' ImageNet release."""
from mmrazor.registry import MODELS
from torch import nn

from .tat_distiller import _DEFAULT_GEOMETRY, _LOSS_DEFAULTS, TaTDistiller

__all__ = ['TaTClsDistiller']


@MODELS.register_module()
class TaTClsDistiller(TaTDistiller):
    """TaT on image classifiers (MMPretrain's ``ImageClassifier`` pairs) in
    the form of the authors' ImageNet release: :class:`TaTDistiller` with
    the release's ImageNet defaults.

    ``distiller=dict(type='TaTClsDistiller', input_size=(224, 224))`` is
    the release's R34 -> R18 distillation on any pair of ResNets: the
    ``layer4`` output of both networks (``features`` defaults to
    ``dict(layer4=dict(student='backbone.layer4',
    teacher='backbone.layer4'))``), channels and map sizes found when the
    algorithm is built; query and value ``Conv3x3 + BN`` on the student
    feature (``embed_kernel_size=3``), the teacher's map itself as the key
    (``use_key_embed=False``); one head of global attention over every
    position of the map, no anchor stage (``patch_grid=(1, 1),
    num_heads=1, anchor_weight=0``); the loss
    ``loss_weight * MSE(attention(q, k) v, F_t)`` (``patch_weight=1``).
    Every default can be overridden as in :class:`TaTDistiller`. The
    default pair is refused on a backbone that is no ResNet (MobileNetV2
    has a ``layer4``, a stride-16 stage; its last map is
    ``backbone.conv2``): ``features`` names the maps there.

    The embeddings are normalised with the statistics of the batch
    (``norm_stats='batch'``): the release applies its embeddings to the
    student's ``layer4`` output of the whole batch (torchdistill's
    ``AttnEmbed.post_forward`` calls each ``Embed``, a Conv2d + BatchNorm2d,
    on the recorded batch output) and its loss (``MaskedFM.batch_loss``)
    takes the batch at once; the per-image loop is the segmentation
    release's. In a distributed run each process normalises its own batch
    (plain BatchNorm2d per GPU in the release, not SyncBN).

    ``input_size`` is required: MMPretrain's data pre-processor has no
    crop size (the crop is made in the data pipeline, e.g.
    ``RandomResizedCrop(scale=224)``), so the algorithm cannot hand it over
    as it does for MMSegmentation.

    Args:
        features (dict, optional): pair name -> ``dict(student=side,
            teacher=side, **overrides)`` as for :class:`TaTDistiller`.
            Defaults to ``layer4`` of both networks.
        input_size (tuple[int, int]): ``(H, W)`` of the training crop.
        in_channels (int, optional): channels of the input. Defaults to 3
            (the algorithm fills it from its ``data_preprocessor.mean``).
        init_cfg (dict, optional): mmengine initialisation config.
        **options: the :class:`TaTDistiller` options; defaults as above,
            the others TaTLoss's.
    """

    _option_defaults = dict(
        _LOSS_DEFAULTS,
        anchor_weight=0.0,
        embed_kernel_size=3,
        use_key_embed=False,
        norm_stats='batch')
    # one patch (the whole map) in one group: global attention; the anchor
    # stage is off (anchor_weight=0), its window is TaTDistiller's
    _default_geometry = dict(
        patch_grid=(1, 1),
        num_heads=1,
        anchor_window=_DEFAULT_GEOMETRY['anchor_window'])
    _default_features = dict(
        layer4=dict(student='backbone.layer4', teacher='backbone.layer4'))

    def _prepare(self, side: str, model: nn.Module) -> None:
        if self._default_pairs:
            self._check_last_stage(side, model)
        super()._prepare(side, model)

    @staticmethod
    def _check_last_stage(side: str, model: nn.Module) -> None:
        """The default feature, ``backbone.layer4``, is the last map of a
        ResNet (and its variants); another backbone may have a
        ``layer4`` that is not its last map (MobileNetV2's is a stride-16
        stage), which would be distilled without a word."""
        backbone = getattr(model, 'backbone', None)
        stages = getattr(backbone, 'res_layers', None)
        if stages and stages[-1] == 'layer4':
            return
        layers = getattr(backbone, 'layers', None)
        what = f'a {type(backbone).__name__} backbone'
        example = f'features=dict(name=dict({side}=..., ...))'
        if isinstance(layers, (list, tuple)) and layers and isinstance(
                layers[-1], str):  # MMPretrain's MobileNets name them
            what += f", whose last map is 'backbone.{layers[-1]}'"
            example = (f"features=dict(last_map=dict({side}='backbone."
                       f"{layers[-1]}', ...))")
        raise ValueError(
            f"features['layer4'].{side}: TaTClsDistiller's default feature "
            "is 'backbone.layer4', the last stage of a ResNet; the "
            f'{side} has {what}: name the features, e.g. {example}.')
