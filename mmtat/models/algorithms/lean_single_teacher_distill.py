# Copyright (c) mmtat contributors. All rights reserved.
"""MMRazor's single-teacher distillation with a teacher that computes only
what the distiller records."""
import contextlib
import inspect
import logging
from typing import Any, Dict, Iterator, List, Optional, Tuple

import torch
from mmengine.logging import print_log
from mmrazor.models.algorithms import SingleTeacherDistill
from mmrazor.models.task_modules.recorder import (
    ModuleOutputsRecorder,
    ParameterRecorder,
)
from mmrazor.registry import MODELS
from torch import Tensor, nn

__all__ = ['LeanSingleTeacherDistill']

_AUX = 'auxiliary_head'


class _EverythingRecorded(Exception):
    """Raised by a hook of the lean teacher pass once every teacher record
    the distiller reads exists: the rest of the forward is not needed."""


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f'{name} must be True or False, got {value!r}')
    return value


def _contiguous(data: Any) -> Any:
    if isinstance(data, Tensor):
        return data.contiguous()
    if isinstance(data, (tuple, list)):
        return type(data)(_contiguous(item) for item in data)
    if isinstance(data, dict):
        return {key: _contiguous(item) for key, item in data.items()}
    return data


def _contiguous_inputs(module: nn.Module, args: Tuple,
                       kwargs: Dict) -> Tuple[Tuple, Dict]:
    """Forward pre-hook of a distillation loss: its inputs in the default
    memory layout. Losses written for it reshape with ``view`` (MMRazor's
    ``ChannelWiseDivergence``), which a channels-last map refuses."""
    return _contiguous(args), _contiguous(kwargs)


def _preprocessor_size(preprocessor: Any) -> Optional[Tuple[int, int]]:
    """``size`` of a data pre-processor, built or as a config dict."""
    if isinstance(preprocessor, dict):
        size = preprocessor.get('size')
    else:
        size = getattr(preprocessor, 'size', None)
    return None if size is None else tuple(size)


def _preprocessor_channels(preprocessor: Any) -> Optional[int]:
    """Channels of the pre-processed input, from its ``mean`` (if any)."""
    if isinstance(preprocessor, dict):
        mean = preprocessor.get('mean')
        return None if mean is None else len(mean)
    mean = getattr(preprocessor, 'mean', None)
    return int(mean.numel()) if isinstance(mean, Tensor) else None


def _inside(path: str, module: str) -> bool:
    """Whether module path ``path`` is ``module`` or one of its parts."""
    return path == module or path.startswith(module + '.')


def _takes(cls: Any, argument: str) -> bool:
    try:
        return argument in inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False


@MODELS.register_module()
class LeanSingleTeacherDistill(SingleTeacherDistill):
    """MMRazor's ``SingleTeacherDistill`` whose frozen teacher computes only
    what the distiller's teacher recorders read.

    MMRazor runs the teacher as ``teacher(inputs, data_samples,
    mode='loss')``: an MMSegmentation teacher then also runs its auxiliary
    heads, upsamples its logits to the label size and evaluates its own
    losses, none of which a distillation loss reads. Here the teacher runs
    ``mode='tensor'`` (backbone, neck, decode head), plus the auxiliary
    heads that hold a recorded module (backbone features reused, no loss),
    and stops as soon as every record a loss reads exists (e.g. after the
    decode head's ``bottleneck``: its classifier does not run). Everything
    else is MMRazor's ``loss()``: the pass runs under ``torch.no_grad()``
    inside the recorders, the run's autocast (``--amp``) included, and the
    student part is unchanged.

    What the teacher must compute is read from the distiller when the
    algorithm is built: the ``source`` module of each teacher recorder of
    MMRazor's module type (``ModuleOutputs``, ``ModuleInputs`` and their
    subclasses, mmtat's ``ModuleFeature``), a record being complete when
    its module's forward has returned, and the ``record_idx`` the
    ``loss_forward_mappings`` read. The whole MMRazor pass runs instead
    (:attr:`teacher_pass` says why) when the teacher is trained, when the
    distiller has deliveries or a teacher recorder of another kind
    (function or method outputs, which the pass cannot place), or when a
    recorded module did not run in the lean pass (found on the first
    iteration, logged once). A teacher in train mode
    (``teacher_norm_eval=False``) runs the same lean pass: the running
    statistics of norm layers it skips (auxiliary heads, layers after the
    last recorded module) are then not updated.

    Both networks run in the channels-last memory layout by default (their
    4-D weights converted once when the algorithm is built; the inputs of
    the distillation losses are handed over in the default layout, since
    some reshape with ``view``), which changes the recorded features and
    the losses only by float32 rounding; the default is what was faster on
    the CPU the project is measured on (README, "The teacher's pass").

    The algorithm also hands the training input size to a distiller that
    needs it for a shape pass when it is built (a distiller class that
    takes ``input_size``, such as :class:`~mmtat.models.TaTDistiller`):
    ``input_size`` (and ``in_channels``, where the class takes it) are
    filled from ``data_preprocessor`` (its ``size`` and ``mean``) unless
    the distiller config gives them. MMPretrain's pre-processors have no
    ``size`` (the crop is made in the data pipeline): a classifier's
    distiller config gives ``input_size`` itself.

    MMPretrain's ``ImageClassifier`` runs ``mode='tensor'`` as backbone,
    neck and head (its logits, ``head.fc``): the lean pass of a classifier
    teacher stops after ``backbone.layer4`` for TaT and after ``head.fc``
    for logit losses (its loss module never runs).

    Args:
        distiller (dict): the distiller config.
        teacher (dict | BaseModel): the teacher.
        lean_teacher (bool): run only what the teacher recorders need; False
            runs MMRazor's ``teacher(..., mode='loss')``. Defaults to True.
        teacher_channels_last (bool): the teacher in the channels-last
            layout. Defaults to True.
        student_channels_last (bool): the student in the channels-last
            layout. Defaults to True.
        **kwargs: the other arguments of MMRazor's ``SingleTeacherDistill``
            (``architecture``, ``data_preprocessor``, ``teacher_ckpt``,
            ``teacher_trainable``, ``teacher_norm_eval``, ...).
    """

    def __init__(self,
                 distiller: dict,
                 teacher: Any,
                 lean_teacher: bool = True,
                 teacher_channels_last: bool = True,
                 student_channels_last: bool = True,
                 **kwargs) -> None:
        lean_teacher = _flag(lean_teacher, 'lean_teacher')
        teacher_channels_last = _flag(teacher_channels_last,
                                      'teacher_channels_last')
        student_channels_last = _flag(student_channels_last,
                                      'student_channels_last')
        distiller = self._with_input_geometry(distiller, kwargs)
        super().__init__(distiller, teacher, **kwargs)
        self._lean_teacher = lean_teacher
        self.teacher_channels_last = teacher_channels_last
        self.student_channels_last = student_channels_last
        if teacher_channels_last:
            self.teacher.to(memory_format=torch.channels_last)
        if student_channels_last:
            self.student.to(memory_format=torch.channels_last)
        if teacher_channels_last or student_channels_last:
            for loss in getattr(self.distiller, 'distill_losses', {}).values():
                loss.register_forward_pre_hook(
                    _contiguous_inputs, with_kwargs=True)
        self._needed: Optional[Dict[str, int]] = None
        self._aux_heads: List[str] = []
        self._full_pass_reason = self._plan_teacher_pass()

    # ------------------------------------------------------------------
    # the training input size, for the distiller's shape pass
    # ------------------------------------------------------------------
    @staticmethod
    def _with_input_geometry(distiller: Any, kwargs: Dict) -> Any:
        if not isinstance(distiller, dict) or 'type' not in distiller:
            return distiller
        cls = distiller['type']
        if isinstance(cls, str):
            cls = MODELS.get(cls)
        if cls is None or not _takes(cls, 'input_size'):
            return distiller
        preprocessor = kwargs.get('data_preprocessor')
        if preprocessor is None:
            # BaseAlgorithm falls back to the student's pre-processor
            architecture = kwargs.get('architecture')
            preprocessor = (architecture.get('data_preprocessor')
                            if isinstance(architecture, dict) else getattr(
                                architecture, 'data_preprocessor', None))
        filled = dict(distiller)
        size = _preprocessor_size(preprocessor)
        given = filled.get('input_size')
        if given is None and size is not None:
            filled['input_size'] = size
        elif (given is not None and size is not None
              and tuple(given) != tuple(size)):
            # the crop changed in one place only (e.g. --cfg-options): the
            # shape pass checks the geometry at another size than training
            print_log(
                f'{filled["type"]}: '
                f'input_size={tuple(given)} but data_preprocessor.size='
                f'{tuple(size)}; the features and the geometry are checked '
                f'at {tuple(given)}. Set both to the training crop.',
                logger='current',
                level=logging.WARNING)
        channels = _preprocessor_channels(preprocessor)
        if (_takes(cls, 'in_channels') and filled.get('in_channels') is None
                and channels is not None):
            filled['in_channels'] = channels
        return filled

    # ------------------------------------------------------------------
    # what the teacher must compute
    # ------------------------------------------------------------------
    @property
    def lean_teacher(self) -> bool:
        """Whether the lean pass is asked for; setting it plans the pass
        again (e.g. ``model.lean_teacher = False`` for MMRazor's)."""
        return self._lean_teacher

    @lean_teacher.setter
    def lean_teacher(self, value: bool) -> None:
        self._lean_teacher = _flag(value, 'lean_teacher')
        self._full_pass_reason = self._plan_teacher_pass()

    @property
    def teacher_pass(self) -> str:
        """``'lean'``, or ``'full: <why>'`` where MMRazor's pass runs."""
        if self._full_pass_reason is None:
            return 'lean'
        return f'full: {self._full_pass_reason}'

    def _plan_teacher_pass(self) -> Optional[str]:
        """Fill ``_needed`` (teacher recorder -> records a loss reads) and
        ``_aux_heads``; or return why the whole pass has to run."""
        self._needed, self._aux_heads = None, []
        if not self.lean_teacher:
            return 'lean_teacher=False'
        if self.teacher_trainable:
            return ('the teacher is trained (teacher_trainable=True): its '
                    'own losses are used')
        distiller = self.distiller
        recorders = getattr(distiller, 'teacher_recorders', None)
        if recorders is None or not recorders.recorders:
            return (f'the distiller ({type(distiller).__name__}) has no '
                    'teacher recorders saying what the teacher computes')
        deliveries = getattr(distiller, 'deliveries', None)
        if deliveries is not None and deliveries.deliveries:
            return ('the distiller has deliveries (function outputs handed '
                    'from the teacher to the student)')
        needed: Dict[str, int] = {}
        for name, recorder in recorders.recorders.items():
            if isinstance(recorder, ParameterRecorder):
                continue  # parameters need no forward pass
            if not isinstance(recorder, ModuleOutputsRecorder):
                return (f'teacher recorder {name!r} is a '
                        f'{type(recorder).__name__} of {recorder.source!r}, '
                        'not of a module, so where it records in the '
                        'forward pass is not known')
            needed[name] = 1
        for mapping in getattr(distiller, 'loss_forward_mappings',
                               {}).values():
            for spec in mapping.values():
                name = spec.get('recorder')
                if not spec.get('from_student', True) and name in needed:
                    needed[name] = max(needed[name],
                                       int(spec.get('record_idx', 0)) + 1)
        teacher = self.teacher
        heads = getattr(teacher, _AUX, None)
        if heads is not None and hasattr(teacher, 'extract_feat'):
            paths = ([f'{_AUX}.{i}' for i in range(len(heads))]
                     if isinstance(heads, nn.ModuleList) else [_AUX])
            sources = [recorders.get_recorder(n).source for n in needed]
            self._aux_heads = [
                p for p in paths if any(_inside(s, p) for s in sources)
            ]
        self._needed = needed
        return None

    def train(self, mode: bool = True) -> 'LeanSingleTeacherDistill':
        """MMRazor's ``train()`` (the teacher's norm layers stay in eval
        mode with ``teacher_norm_eval``), returning the module as
        ``nn.Module.train`` does (MMRazor's returns None)."""
        super().train(mode)
        return self

    # ------------------------------------------------------------------
    # the pass
    # ------------------------------------------------------------------
    def loss(self, batch_inputs: Tensor,
             data_samples: Optional[List[Any]] = None) -> Dict[str, Tensor]:
        """MMRazor's ``loss()``, the teacher's forward being the lean pass
        (where it applies)."""
        if self._full_pass_reason is not None:
            return super().loss(batch_inputs, data_samples)
        with self._teacher_runs_lean():
            return super().loss(batch_inputs, data_samples)

    @contextlib.contextmanager
    def _teacher_runs_lean(self) -> Iterator[None]:
        # MMRazor calls self.teacher(inputs, data_samples, mode='loss') and
        # discards the result; for that one call, the instance's forward
        # is the lean pass.
        teacher = self.teacher

        def forward(inputs: Tensor, data_samples: Any = None,
                    mode: str = 'tensor') -> None:
            self._lean_forward(inputs, data_samples)

        teacher.forward = forward
        try:
            yield
        finally:
            teacher.__dict__.pop('forward', None)

    def _missing_records(self) -> List[str]:
        recorders = self.distiller.teacher_recorders
        return [
            name for name, count in self._needed.items()
            if len(recorders.get_recorder(name).data_buffer) < count
        ]

    def _lean_forward(self, inputs: Tensor, data_samples: Any) -> None:
        teacher = self.teacher
        # the network's own forward (the instance's is this pass)
        network_forward = type(teacher).forward.__get__(teacher)
        recorders = self.distiller.teacher_recorders
        modules = dict(teacher.named_modules())

        def stop_when_recorded(module: nn.Module, args: Any,
                               output: Any) -> None:
            if not self._missing_records():
                raise _EverythingRecorded

        # registered after the recorders' hooks, so they run after them
        handles = [
            modules[recorders.get_recorder(name).source].register_forward_hook(
                stop_when_recorded) for name in self._needed
        ]
        try:
            if self._aux_heads:
                feats = teacher.extract_feat(inputs)
                if any(_inside(recorders.get_recorder(n).source,
                               'decode_head') for n in self._needed):
                    teacher.decode_head.forward(feats)
                for path in self._aux_heads:
                    modules[path].forward(feats)
            else:
                network_forward(inputs, data_samples, mode='tensor')
        except _EverythingRecorded:
            pass
        finally:
            for handle in handles:
                handle.remove()
        missing = self._missing_records()
        if not missing:
            return
        # A recorded module that the lean pass does not reach (e.g. one
        # that runs only in mode='loss'): the whole pass, from now on.
        self._full_pass_reason = (
            f'teacher recorder(s) {", ".join(map(repr, missing))} did not '
            "record what the losses read in the lean pass (mode='tensor'), "
            "so their modules run only in mode='loss'")
        print_log(
            f'{type(self).__name__}: {self._full_pass_reason}; the teacher '
            "runs MMRazor's whole pass from now on.",
            logger='current',
            level=logging.WARNING)
        for name in self._needed:
            recorders.get_recorder(name).reset_data_buffer()
        network_forward(inputs, data_samples, mode='loss')
