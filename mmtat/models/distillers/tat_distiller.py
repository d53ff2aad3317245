# Copyright (c) mmtat contributors. All rights reserved.
"""TaT as one distiller dict: recorders, channels and grids worked out."""
import copy
import logging
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mmengine.logging import print_log
from mmrazor.models.distillers import ConfigurableDistiller
from mmrazor.registry import MODELS
from torch import Tensor, nn

from ...utils.errors import did_you_mean
from ..connectors import infer_token_grid
from ..losses import TaTLoss
from ..utils import as_pair, as_positive_int, probe_network

__all__ = ['TaTDistiller']

#: TaTLoss geometry, each as (form in feature-map positions, release form).
_GEOMETRY = (('patch_size', 'patch_grid'),
             ('patches_per_group', 'num_heads'),
             ('anchor_window', 'anchor_grid'))
#: The release's VOC geometry in positions (on its 129x129 map: grid 16,
#: 64 heads, anchor grid 32), used where a config gives neither form.
_DEFAULT_GEOMETRY = dict(
    patch_size=(8, 8), patches_per_group=4, anchor_window=(4, 4))
_GEOMETRY_KEYS = tuple(k for slot in _GEOMETRY for k in slot)
#: The TaTLoss options a config sets globally or per pair, with TaTLoss's
#: defaults: every TaTLoss argument but the channels and the geometry,
#: which the distiller finds or resolves per pair. A new TaTLoss option is
#: listed here (a test holds this list to TaTLoss's signature).
_LOSS_DEFAULTS = (
    # the method
    ('patch_weight', 1.0),
    ('anchor_weight', 0.4),
    ('loss_weight', 1.0),
    ('embed_kernel_size', 1),
    ('use_key_embed', True),
    ('norm_stats', 'per_image'),
    ('resize_student', True),
    # memory and speed
    ('large_attention_positions', 2048),
    ('chunk_elements', 1 << 20),
    ('large_attention_kernel', None),
    ('cpu_step_bytes', 8 << 20),
    ('logit_floor', 50.0),
    ('contiguous_embedding_grad', True),
)
_LOSS_OPTIONS = tuple(name for name, _ in _LOSS_DEFAULTS)
_OPTIONS = _GEOMETRY_KEYS + _LOSS_OPTIONS
_PAIR_KEYS = ('student', 'teacher', 'student_channels',
              'teacher_channels') + _OPTIONS
_SIDE_KEYS = ('module', 'index', 'token_hw', 'pre_activation')
_SIDES = ('student', 'teacher')


def _describe(output: Any) -> str:
    if isinstance(output, Tensor):
        return f'a tensor of shape {tuple(output.shape)}'
    if isinstance(output, (tuple, list)):
        items = ', '.join(
            f'[{i}] {tuple(o.shape)}' if isinstance(o, Tensor) else
            f'[{i}] {type(o).__name__}' for i, o in enumerate(output))
        return f'a {type(output).__name__} of {len(output)}: {items}'
    return f'a {type(output).__name__}'


def _is_classifier(model: nn.Module) -> bool:
    """An image classifier (MMPretrain's ``ImageClassifier``: a ``head``,
    no ``decode_head``), whose data pre-processor has no crop size."""
    return hasattr(model, 'head') and not hasattr(model, 'decode_head')


def _size_source(classifier: bool) -> str:
    """Where the input size of the shape pass comes from, for messages."""
    return 'input_size' if classifier else 'data_preprocessor.size'


class _Side:
    """Where one side of a feature pair comes from, and what it is."""

    def __init__(self, pair: str, side: str, spec: Any) -> None:
        where = f'features[{pair!r}].{side}'
        if isinstance(spec, str):
            spec = dict(module=spec)
        if not isinstance(spec, dict) or 'module' not in spec:
            raise TypeError(
                f'{where} must be a module path such as '
                "'decode_head.bottleneck' or a dict(module=..., index=..., "
                f'token_hw=..., pre_activation=...), got {spec!r}')
        unknown = set(spec) - set(_SIDE_KEYS)
        if unknown:
            key = sorted(unknown)[0]
            raise KeyError(f'{where} has unknown key {key!r}; allowed: '
                           f'{", ".join(_SIDE_KEYS)}.' +
                           did_you_mean(key, _SIDE_KEYS))
        if not isinstance(spec['module'], str) or not spec['module']:
            raise TypeError(f'{where}.module must be a module path, got '
                            f'{spec["module"]!r}')
        index = spec.get('index')
        if index is not None and (not isinstance(index, int)
                                  or isinstance(index, bool)):
            raise TypeError(f'{where}.index must be an int, got {index!r}')
        token_hw = spec.get('token_hw')
        if token_hw is not None:
            token_hw = as_pair(token_hw, f'{where}.token_hw')
        pre_activation = spec.get('pre_activation', False)
        if not isinstance(pre_activation, bool):
            raise TypeError(f'{where}.pre_activation must be True or False, '
                            f'got {pre_activation!r}')
        if pre_activation and index is not None:
            raise ValueError(
                f'{where}: pre_activation records the map that enters the '
                "module's last activation, which is one tensor: drop index "
                'or pre_activation.')
        self.where = where
        self.module: str = spec['module']
        self.index: Optional[int] = index
        self.token_hw: Optional[Tuple[int, int]] = token_hw
        self.pre_activation: bool = pre_activation
        # filled in when the network is probed
        self.channels: Optional[int] = None
        self.map_size: Optional[Tuple[int, int]] = None
        self.extra_tokens: Optional[int] = None  # None: already a map

    @property
    def recorder(self) -> Dict[str, Any]:
        """The config of this side's recorder."""
        return dict(type='ModuleFeature', source=self.module,
                    pre_activation=self.pre_activation)

    def resolve(self, output: Any, input_size: Tuple[int, int]) -> None:
        """Set channels / map size from the probed record of this side."""
        records = ('its map before the last activation is'
                   if self.pre_activation else 'outputs')
        what = (f'{self.where}: {self.module!r} {records} '
                f'{_describe(output)} for a {input_size[0]}x'
                f'{input_size[1]} input')
        if self.index is not None:
            if not isinstance(output, (tuple, list)):
                raise ValueError(f'{what}; index={self.index} needs a tuple '
                                 'or list output: drop index.')
            if not -len(output) <= self.index < len(output):
                raise ValueError(f'{what}; index={self.index} is out of '
                                 'range.')
            output = output[self.index]
        elif isinstance(output, (tuple, list)):
            tensors = [i for i, o in enumerate(output)
                       if isinstance(o, Tensor)]
            example = tensors[-1] if tensors else 0
            raise ValueError(
                f'{what}; TaT needs one feature map: pick one with '
                f'{self.where.split(".")[-1]}=dict(module={self.module!r}, '
                f'index={example}).')
        if not isinstance(output, Tensor):
            raise ValueError(f'{what}; TaT needs a tensor.')
        shape = tuple(output.shape)
        if output.dim() == 4:
            if self.token_hw is not None:
                raise ValueError(f'{what}; token_hw is only for (B, N, C) '
                                 'token features: drop it.')
            self.channels, self.map_size = shape[1], shape[2:]
            return
        if output.dim() != 3:
            raise ValueError(
                f'{what}, which cannot be a feature map: TaT takes '
                '(B, C, H, W) maps or (B, N, C) tokens.')
        num_tokens = shape[1]
        if self.token_hw is not None:
            h, w = self.token_hw
            extra = num_tokens - h * w
            if extra not in (0, 1):
                raise ValueError(
                    f'{what}; token_hw={self.token_hw} gives {h * w} '
                    f'positions, not {num_tokens} (or {num_tokens - 1} '
                    'after a class token).')
        else:
            found = infer_token_grid(num_tokens, input_size)
            if found is None:
                raise ValueError(
                    f'{what}: {num_tokens} tokens are no grid of any stride '
                    'of the input; if they are (B, N, C) tokens of a map, '
                    'give its size with token_hw=(H, W).')
            h, w, extra = found
        self.channels, self.map_size = shape[2], (h, w)
        self.extra_tokens = extra


@MODELS.register_module()
class TaTDistiller(ConfigurableDistiller):
    """Target-aware Transformer distillation (Lin et al., CVPR 2022) of one
    or more feature pairs, with channels and grids worked out.

    A :class:`~mmrazor.models.ConfigurableDistiller` whose recorders,
    :class:`~mmtat.models.TaTLoss` losses and ``loss_forward_mappings`` are
    derived from ``features``: each pair names a student and a teacher
    module (paths of ``named_modules()``); their channels and map sizes are
    found when the algorithm is built (``SingleTeacherDistill`` calls
    :meth:`prepare_from_student` / :meth:`prepare_from_teacher` before the
    optimiser exists, so TaT's embeddings are trained from iteration 0) by a
    shape-only pass of each network at the training input size
    (``input_size``, which mmtat's ``LeanSingleTeacherDistill`` fills from
    its ``data_preprocessor.size``), and the geometry is checked on
    the teacher's map there. Pair ``name`` logs ``distill.loss_tat_<name>``.
    On image classifiers, :class:`TaTClsDistiller` has the authors'
    ImageNet form as its defaults.

    Geometry, globally or per pair, in one of two forms per quantity (see
    :class:`~mmtat.models.TaTLoss`): in feature-map positions
    (``patch_size``, ``patches_per_group``, ``anchor_window``, which keep
    their meaning when the crop changes) or as the release's counts
    (``patch_grid``, ``num_heads``, ``anchor_grid``). Where neither is
    given: ``patch_size=(8, 8), patches_per_group=4, anchor_window=(4, 4)``,
    the release's VOC geometry.

    A side is ``'module.path'`` or ``dict(module='module.path', index=i,
    token_hw=(H, W), pre_activation=False)``: ``index`` picks one tensor of
    a tuple/list output (e.g. a backbone's stages); ``(B, N, C)`` token
    outputs of transformer layers become ``(B, C, H, W)`` maps (a
    :class:`TokensToMap` connector), with ``(H, W)`` given by ``token_hw``
    or inferred from the input size (a leading class token is dropped). A
    student map of another size is resized to the teacher's
    (``resize_student``).

    ``pre_activation=True`` distils the map that enters the module's last
    activation (for MMCV's ``ConvModule``, its norm layer's output, negative
    values kept), as the authors' release distils the decoder feature
    before its last ReLU (:class:`~mmtat.models.ModuleFeatureRecorder`).
    Every record is checked on the shape-only pass: a recorded map that a
    later in-place operation changes (a norm layer named directly, followed
    by ConvModule's ``ReLU(inplace=True)``) is recorded as a copy instead,
    which is logged once; a record that still changes in training raises
    (:mod:`mmtat.compat.recorded_tensors`).

    Args:
        features (dict): pair name -> ``dict(student=side, teacher=side,
            **overrides)``; overrides are any of the options below, and
            ``student_channels`` / ``teacher_channels`` (then checked
            against the networks).
        input_size (tuple[int, int], optional): ``(H, W)`` of the training
            input, for the shape pass. Required; mmtat's algorithm
            (``LeanSingleTeacherDistill``) fills it from its
            ``data_preprocessor.size`` (MMSegmentation's); a classifier's
            config gives it (the crop of its training pipeline).
        in_channels (int, optional): channels of the training input, for
            the shape pass. Defaults to 3; mmtat's algorithm fills it from
            its ``data_preprocessor.mean``.
        init_cfg (dict, optional): mmengine initialisation config.
        **options: for every pair (a pair's own value replaces it), the
            :class:`~mmtat.models.TaTLoss` arguments but the channels, with
            TaTLoss's defaults:

            - geometry: ``patch_size``, ``patches_per_group``,
              ``anchor_window`` or ``patch_grid``, ``num_heads``,
              ``anchor_grid`` (see above);
            - weights: ``loss_weight`` (alpha), ``patch_weight`` (beta),
              ``anchor_weight`` (gamma);
            - embeddings: ``embed_kernel_size``, ``use_key_embed``,
              ``norm_stats``, ``resize_student``;
            - memory and speed (the result is the same):
              ``large_attention_positions``, ``chunk_elements``,
              ``large_attention_kernel``, ``cpu_step_bytes``,
              ``logit_floor``, ``contiguous_embedding_grad``.
    """

    #: The TaTLoss options every pair gets unless a config sets them.
    _option_defaults: Dict[str, Any] = dict(_LOSS_DEFAULTS)
    #: Per geometry quantity, the value used where a config gives neither
    #: form (keys of ``_GEOMETRY``, one per quantity).
    _default_geometry: Dict[str, Any] = _DEFAULT_GEOMETRY
    #: The pairs where a config gives no ``features`` (None: required).
    _default_features: Optional[Dict[str, Any]] = None

    def __init__(self,
                 features: Optional[Dict[str, Dict[str, Any]]] = None,
                 input_size: Optional[Sequence[int]] = None,
                 in_channels: Optional[int] = None,
                 init_cfg: Optional[dict] = None,
                 **options) -> None:
        unknown = sorted(set(options) - set(_OPTIONS))
        if unknown:
            built = {'student_recorders', 'teacher_recorders',
                     'distill_losses', 'loss_forward_mappings', 'connectors',
                     'distill_deliveries'}
            if built & set(unknown):
                raise TypeError(
                    'TaTDistiller builds its own recorders, losses and '
                    f'loss_forward_mappings; got {", ".join(unknown)}. '
                    'Describe the pairs in `features`, or use '
                    "type='ConfigurableDistiller' with TaTLoss for a custom "
                    'wiring.')
            raise TypeError(
                f'TaTDistiller got an unknown option {unknown[0]!r}; it '
                'takes features, input_size, in_channels, init_cfg and the '
                f'TaTLoss options {", ".join(_OPTIONS)}.' +
                did_you_mean(unknown[0], _OPTIONS))
        common = {**self._option_defaults,
                  **dict.fromkeys(_GEOMETRY_KEYS)}
        common.update(options)
        #: whether ``features`` are the class's default pairs
        self._default_pairs = (features is None
                               and self._default_features is not None)
        if self._default_pairs:
            features = copy.deepcopy(self._default_features)
        if not isinstance(features, dict) or not features:
            raise TypeError(
                'features must be a non-empty dict such as dict(bottleneck='
                "dict(student='decode_head.bottleneck', "
                "teacher='decode_head.bottleneck')), got "
                f'{features!r}')
        self._pairs: Dict[str, Dict[str, Any]] = {}
        for name, pair in features.items():
            self._pairs[name] = self._parse_pair(name, pair, common)
        if input_size is not None:
            input_size = as_pair(input_size, 'input_size')
        self._input_size = input_size
        self._in_channels = 3 if in_channels is None else as_positive_int(
            in_channels, 'in_channels')
        super().__init__(
            student_recorders={
                name: p['student'].recorder
                for name, p in self._pairs.items()
            },
            teacher_recorders={
                name: p['teacher'].recorder
                for name, p in self._pairs.items()
            },
            init_cfg=init_cfg)
        self._probed: Dict[str, bool] = dict(student=False, teacher=False)
        # whether the networks are classifiers, for the messages (known
        # once the first of them is probed)
        self._classifier: Optional[bool] = None

    # ------------------------------------------------------------------
    # configuration
    # ------------------------------------------------------------------
    def _parse_pair(self, name: Any, pair: Any,
                    common: Dict[str, Any]) -> Dict[str, Any]:
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(
                f'feature pair names become loss names (loss_tat_<name>) and '
                f'must be identifiers, got {name!r}')
        where = f'features[{name!r}]'
        if not isinstance(pair, dict):
            raise TypeError(f'{where} must be a dict(student=..., '
                            f'teacher=...), got {pair!r}')
        for key in pair:
            if key not in _PAIR_KEYS:
                raise KeyError(f'{where} has unknown key {key!r}.' +
                               did_you_mean(key, _PAIR_KEYS))
        for side in _SIDES:
            if side not in pair:
                raise KeyError(f'{where} needs a {side!r} module path')
        loss_cfg = {k: common[k] for k in _LOSS_OPTIONS}
        loss_cfg.update({k: pair[k] for k in _LOSS_OPTIONS if k in pair})
        for slot in _GEOMETRY:
            # A pair's own value of a quantity replaces the common one, in
            # whichever form each is written.
            source = pair if any(k in pair for k in slot) else common
            values = {k: source.get(k) for k in slot}
            if all(v is None for v in values.values()):
                values = {k: v for k, v in self._default_geometry.items()
                          if k in slot}
            loss_cfg.update({k: v for k, v in values.items() if v is not None})
        try:
            # Validates every value (types, ranges, both forms given) now,
            # with placeholder channels; the real loss is built once the
            # networks are known.
            TaTLoss(student_channels=1, teacher_channels=1, **loss_cfg)
        except (TypeError, ValueError) as err:
            raise type(err)(f'{where}: {err}') from None
        channels = {}
        for key in ('student_channels', 'teacher_channels'):
            if pair.get(key) is not None:
                value = pair[key]
                if not isinstance(value, int) or isinstance(
                        value, bool) or value <= 0:
                    raise ValueError(f'{where}.{key} must be a positive int, '
                                     f'got {value!r}')
                channels[key] = value
        return dict(
            student=_Side(name, 'student', pair['student']),
            teacher=_Side(name, 'teacher', pair['teacher']),
            loss_cfg=loss_cfg,
            channels=channels)

    # ------------------------------------------------------------------
    # building from the networks
    # ------------------------------------------------------------------
    def prepare_from_student(self, model: nn.Module) -> None:
        """Hook the student's recorders and find its features."""
        self._prepare('student', model)
        self._build_losses_when_ready()

    def prepare_from_teacher(self, model: nn.Module) -> None:
        """Hook the teacher's recorders and find its features."""
        self._prepare('teacher', model)
        self._build_losses_when_ready()

    def _input_geometry(self, model: Optional[nn.Module] = None
                        ) -> Tuple[Tuple[int, int], int]:
        """``(H, W)`` and channels of the training input.

        A distiller cannot see the algorithm that builds it (MMRazor's
        ``SingleTeacherDistill`` builds it and calls ``prepare_from_*``
        with the networks only), so the input size is an argument:
        mmtat's algorithm (:class:`~mmtat.models.LeanSingleTeacherDistill`,
        the shipped configs' ``model.type``) fills it from its
        ``data_preprocessor.size`` where the pre-processor has one
        (MMSegmentation's); a classifier's crop is given as ``input_size``
        (MMPretrain's pre-processors have no size: the crop is made in the
        data pipeline).
        """
        if self._input_size is not None:
            return self._input_size, self._in_channels
        name = type(self).__name__
        start = (f"{name} needs the training input size to find the "
                 "features' channels and check the geometry before "
                 'training')
        if model is not None and _is_classifier(model):
            raise ValueError(
                f'{start}. The {type(model).__name__} gets its crop from '
                "the data pipeline (MMPretrain's data pre-processor has no "
                "size): give the training pipeline's crop, e.g. "
                "RandomResizedCrop(scale=224), as the distiller's "
                f"input_size: distiller=dict(type='{name}', "
                'input_size=(224, 224), ...).')
        raise ValueError(
            f"{start}: give {name}(input_size=crop_size), or use "
            "mmtat's algorithm, model=dict(type="
            "'LeanSingleTeacherDistill', ...), which hands over the "
            "size of its data pre-processor (MMSegmentation: "
            "data_preprocessor=dict(type='SegDataPreProcessor', "
            "size=crop_size, ...)).")

    def _prepare(self, side: str, model: nn.Module) -> None:
        """Hook ``side``'s recorders into ``model`` (what
        ``ConfigurableDistiller.prepare_from_<side>`` does), then find what
        they record with one shape-only pass (:func:`probe_network`)."""
        names = dict(model.named_modules())
        manager = getattr(self, f'{side}_recorders')
        for pair_name, pair in self._pairs.items():
            path = pair[side].module
            if path not in names:
                listed = [n for n in names if n]
                raise ValueError(
                    f'features[{pair_name!r}].{side}: the {side} '
                    f'({type(model).__name__}) has no module {path!r}.' +
                    did_you_mean(path, listed) +
                    ' (all paths: [n for n, _ in model.named_modules()])')
            try:
                manager.get_recorder(pair_name).initialize(model)
            except ValueError as err:
                raise ValueError(
                    f'features[{pair_name!r}].{side}: {err}') from None
        if self._classifier is None:
            self._classifier = _is_classifier(model)
        input_size, in_channels = self._input_geometry(model)
        modules = [p[side].module for p in self._pairs.values()]
        activations = {
            name: manager.get_recorder(name).activation_path
            for name, p in self._pairs.items() if p[side].pre_activation
        }
        probe = probe_network(model, modules + list(activations.values()),
                              input_size, in_channels, recorders=manager)
        for pair_name, pair in self._pairs.items():
            spec: _Side = pair[side]
            where = f'features[{pair_name!r}].{side}'
            if spec.module not in probe.outputs:
                parts = ('backbone, neck or head' if _is_classifier(model)
                         else 'backbone, neck or decode head (auxiliary '
                         'heads only run in the loss)')
                raise ValueError(
                    f'{where}: {spec.module!r} did not run in a forward pass '
                    f'of the {side} ({type(model).__name__}, '
                    "mode='tensor'), so its shape cannot be checked before "
                    f'training; distil a module of the {parts}.')
            if spec.pre_activation:
                self._check_final_activation(where, spec, probe.outputs,
                                             activations[pair_name])
            spec.resolve(probe.records[pair_name], input_size)
            declared = pair['channels'].get(f'{side}_channels')
            if declared is not None and declared != spec.channels:
                raise ValueError(
                    f'features[{pair_name!r}]: {side}_channels={declared} '
                    f'but {spec.module!r} has {spec.channels} channels.')
            culprit = probe.changed_in_place.get(pair_name)
            if culprit is not None:
                # MMRazor would hand the loss the changed tensor.
                manager.get_recorder(pair_name).copy = True
                print_log(
                    f'TaTDistiller: {where}: the output of {spec.module!r} '
                    f'is changed in place later, in {culprit}; recording a '
                    'copy of it (pre_activation=True on the conv module '
                    'records the same map).',
                    logger='current',
                    level=logging.INFO)
        self._probed[side] = True

    @staticmethod
    def _check_final_activation(where: str, spec: _Side,
                                outputs: Dict[str, Any],
                                activation: str) -> None:
        """The hooked activation must be what produces the module's output;
        otherwise "before the last activation" would be another map."""
        if activation not in outputs:
            raise ValueError(
                f'{where}: pre_activation hooks {activation!r}, the last '
                f'activation layer of {spec.module!r}, but it did not run in '
                'the forward pass; name the layer to record instead.')
        if outputs[activation] is not outputs[spec.module]:
            raise ValueError(
                f'{where}: pre_activation: the output of {spec.module!r} is '
                f'not the output of its last activation layer {activation!r} '
                '(something runs after it), so there is no single map '
                '"before its activation"; name the layer to record instead.')

    def _build_losses_when_ready(self) -> None:
        if not all(self._probed.values()) or self.loss_forward_mappings:
            return
        input_size, _ = self._input_geometry()
        mappings = {}
        for name, pair in self._pairs.items():
            student, teacher = pair['student'], pair['teacher']
            loss = TaTLoss(
                student_channels=student.channels,
                teacher_channels=teacher.channels,
                **pair['loss_cfg'])
            if student.map_size != teacher.map_size and not \
                    loss.resize_student:
                raise ValueError(
                    f'features[{name!r}]: the student map is '
                    f'{student.map_size} and the teacher map '
                    f'{teacher.map_size} at input size {input_size}, and '
                    'resize_student=False.')
            try:
                loss.geometry(*teacher.map_size)
            except ValueError as err:
                raise ValueError(
                    f'features[{name!r}]: {err}. The teacher feature '
                    f'{teacher.module!r} is {teacher.map_size[0]}x'
                    f'{teacher.map_size[1]} for a {input_size[0]}x'
                    f'{input_size[1]} input '
                    f'({_size_source(bool(self._classifier))}); '
                    'choose a geometry that fits it.') from None
            loss_name = f'loss_tat_{name}'
            self.distill_losses[loss_name] = loss
            mappings[loss_name] = dict(
                preds_S=self._mapping(name, 'student', student),
                preds_T=self._mapping(name, 'teacher', teacher))
        self._check_loss_forward_mappings(self.distill_losses, mappings,
                                          self.student_recorders,
                                          self.teacher_recorders)
        self.loss_forward_mappings = mappings

    def _mapping(self, name: str, side: str, spec: _Side) -> Dict[str, Any]:
        mapping: Dict[str, Any] = dict(
            from_student=side == 'student', recorder=name)
        if spec.index is not None:
            mapping['data_idx'] = spec.index
        if spec.extra_tokens is not None:
            connector = f'{name}_{side}_tokens_to_map'
            self.connectors[connector] = MODELS.build(
                dict(
                    type='TokensToMap',
                    map_size=spec.map_size,
                    extra_tokens=spec.extra_tokens))
            mapping['connector'] = connector
        return mapping

    @property
    def feature_pairs(self) -> List[Dict[str, Any]]:
        """What was found for each pair: modules, channels, map sizes."""
        rows = []
        for name, pair in self._pairs.items():
            row: Dict[str, Any] = dict(name=name)
            for side in _SIDES:
                spec: _Side = pair[side]
                row[side] = dict(
                    module=spec.module,
                    index=spec.index,
                    channels=spec.channels,
                    map_size=spec.map_size,
                    tokens=spec.extra_tokens is not None)
            rows.append(row)
        return rows
