"""Where a distillation teacher's weights come from, and whether they fit
it.

A distillation config's teacher gets its weights from ``model.teacher_ckpt``
(loaded by MMRazor when the model is built) or, without it, from the
``init_cfg`` checkpoints of its modules (loaded when training starts).
Both load with ``strict=False``: a checkpoint of another network (the
student's, another depth, another class count, a whole distillation
checkpoint) only makes mmengine warn, and the run distils from randomly
initialised teacher layers to the end.  :class:`~mmtat.engine.hooks.
TeacherCheckpointHook` refuses such a run with what this module finds.
"""
import os.path as osp
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import torch
from mmengine.model import is_model_wrapper
from torch import nn

from ..compat import mmengine_checkpoint_globals
from .checkpoint_fit import checkpoint_fit_problems
from .config_checkpoints import REMOTE_PREFIXES
from .remote_files import download_cache_path

__all__ = [
    'TeacherWeights', 'config_teacher_ckpt', 'teacher_weight_sources',
    'read_state', 'teacher_fit_problems', 'teacher_misfit_hint',
    'resnet_depth'
]

#: the classifier of a segmentor (decode_head.conv_seg) or of an image
#: classifier (head.fc)
_CLASSIFIER = re.compile(r'(^|\.)(conv_seg|head\.fc)\.(weight|bias)$')
#: a ResNet's residual blocks: layerI.J.convK.weight (K = 3: Bottleneck)
_RESNET_BLOCK = re.compile(r'(^|\.)layer([1-4])\.(\d+)\.conv([123])\.weight$')
#: (blocks per stage, Bottleneck) -> depth
_RESNET_DEPTHS = {
    (2, 2, 2, 2, False): 18,
    (3, 4, 6, 3, False): 34,
    (3, 4, 6, 3, True): 50,
    (3, 4, 23, 3, True): 101,
    (3, 8, 36, 3, True): 152,
}


@dataclass
class TeacherWeights:
    """One checkpoint the teacher's weights come from.

    Attributes:
        what: how the config names it, for messages.
        path: the path or URL the config gives.
        module: the teacher module it is loaded into.
        prefix: the checkpoint keys that are loaded, by prefix (stripped);
            ``''`` for all (``init_cfg``'s ``prefix``).
    """
    what: str
    path: str
    module: nn.Module
    prefix: str = ''

    def local_file(self) -> Optional[str]:
        """The file mmengine loaded: the path itself, or its download."""
        path = self.path
        if path.startswith(REMOTE_PREFIXES) or '://' in path:
            path = download_cache_path(path) or ''
        return path if path and osp.isfile(path) else None


def config_teacher_ckpt(cfg: Any) -> Optional[str]:
    """``model.teacher_ckpt`` of config ``cfg`` (None for a config whose
    model has none, or is not a dict)."""
    model = cfg.get('model') if hasattr(cfg, 'get') else None
    if not isinstance(model, dict):
        return None
    return model.get('teacher_ckpt')


def _unwrap(model: Any) -> Any:
    return model.module if is_model_wrapper(model) else model


def teacher_weight_sources(
        model: Any, teacher_ckpt: Optional[str]) -> List[TeacherWeights]:
    """The checkpoints the teacher of distillation algorithm ``model`` is
    loaded from: ``teacher_ckpt``, or without it the ``Pretrained``
    ``init_cfg`` of each teacher module (``model.teacher.pretrained`` ends
    up as the backbone's).  Empty for a model without a teacher."""
    algorithm = _unwrap(model)
    teacher = getattr(algorithm, 'teacher', None)
    if teacher is None or not hasattr(algorithm, 'architecture'):
        return []
    if teacher_ckpt:
        return [TeacherWeights('model.teacher_ckpt', teacher_ckpt, teacher)]
    found = []
    for name, module in teacher.named_modules():
        init_cfgs = getattr(module, 'init_cfg', None) or []
        for init_cfg in (init_cfgs if isinstance(init_cfgs, list)
                         else [init_cfgs]):
            if (isinstance(init_cfg, dict)
                    and init_cfg.get('type') == 'Pretrained'
                    and isinstance(init_cfg.get('checkpoint'), str)):
                where = f'teacher.{name}' if name else 'teacher'
                found.append(TeacherWeights(
                    f'the init_cfg checkpoint of {where}',
                    init_cfg['checkpoint'], module,
                    init_cfg.get('prefix') or ''))
    return found


def read_state(path: str) -> Dict[str, Any]:
    """The tensors of a checkpoint file; memory-mapped where torch can, so
    that a large checkpoint costs no second copy in memory."""
    with mmengine_checkpoint_globals():
        try:
            checkpoint = torch.load(path, map_location='cpu', mmap=True,
                                    weights_only=True)
        except RuntimeError:  # a legacy (non-zip) file cannot be mapped
            checkpoint = torch.load(path, map_location='cpu',
                                    weights_only=True)
    if not isinstance(checkpoint, dict):
        return {}
    state = checkpoint.get('state_dict', checkpoint)
    return state if isinstance(state, dict) else {}


def teacher_fit_problems(source: TeacherWeights,
                         state: Dict[str, Any]) -> Dict[str, List]:
    """:func:`~mmtat.checks.checkpoint_fit.checkpoint_fit_problems` of the
    tensors ``source`` loads from ``state`` against its module."""
    state = {re.sub(r'^module\.', '', k): v
             for k, v in state.items() if isinstance(k, str)}
    if source.prefix:
        state = {k[len(source.prefix):]: v for k, v in state.items()
                 if k.startswith(source.prefix)}
    return checkpoint_fit_problems(source.module, {'state_dict': state},
                                   prefix='')


def resnet_depth(keys: Any) -> Optional[int]:
    """The depth of the ResNet whose weight names are ``keys`` (a
    checkpoint's or a model's; any prefix), from its blocks per stage and
    their kind; None for another network."""
    blocks = [0, 0, 0, 0]
    bottleneck = False
    for key in keys:
        match = _RESNET_BLOCK.search(key) if isinstance(key, str) else None
        if match:
            stage = int(match.group(2)) - 1
            blocks[stage] = max(blocks[stage], int(match.group(3)) + 1)
            bottleneck = bottleneck or match.group(4) == '3'
    return _RESNET_DEPTHS.get((*blocks, bottleneck))


def teacher_misfit_hint(state: Dict[str, Any], found: Dict[str, List],
                        source: TeacherWeights) -> str:
    """The likely fix for a teacher checkpoint that does not fit: a whole
    distillation checkpoint, another dataset's classifier, a ResNet of
    another depth (e.g. a ResNet-50 checkpoint for a ResNet-34 teacher), or
    another network."""
    keys = [k for k in state if isinstance(k, str)]
    if (any(k.startswith('teacher.') for k in keys)
            and any(k.startswith('architecture.') for k in keys)):
        return ('It is a distillation checkpoint: its teacher is under '
                'teacher.* (and a student under architecture.*). Give the '
                'teacher\'s own checkpoint, or load that part with '
                '--cfg-options model.teacher_ckpt=None "model.teacher.'
                f'init_cfg=dict(type=\'Pretrained\',checkpoint=\'{source.path}'
                '\',prefix=\'teacher.\')".')
    mismatched = found['mismatched']
    if (mismatched and not found['missing']
            and all(_CLASSIFIER.search(k) for k, _, _ in mismatched)):
        key, own, other = next(
            (m for m in mismatched if m[0].endswith('weight')), mismatched[0])
        return (f'Only the classifier differs ({key}: {other[0]} classes in '
                f'the checkpoint, {own[0]} in this config): a teacher '
                'trained on another dataset. Give the teacher of this '
                'dataset, or the class count it was trained with.')
    depth = resnet_depth(keys)
    own = resnet_depth(source.module.state_dict().keys())
    if depth and own and depth != own:
        return (f'It is the checkpoint of a ResNet-{depth}, and this '
                f'config\'s teacher is a ResNet-{own}: give a ResNet-{own} '
                f'checkpoint as {source.what} (the teacher trained for this '
                f'config, or its release), or make model.teacher a '
                f'ResNet-{depth} to distil from that one.')
    return ('It is the checkpoint of another network than this config\'s '
            'teacher (e.g. the student\'s, another depth or another head): '
            f'check {source.what} and model.teacher.')
