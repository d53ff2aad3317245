"""Which task a config trains, and the metric its results are reported by.

mmtat distils semantic segmentation networks (MMSegmentation, results in
mIoU) and image classifiers (MMPretrain, results in top-1 / top-5
accuracy).  The tools that read a config's results (the accuracy table of
``tools/reproduce.py``, ``tools/test.py``, the teacher's published figure)
name them by the metric of the config's task: :func:`config_task` tells
the task, :data:`TASK_METRICS` the metrics the task's evaluator logs.
"""
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

__all__ = [
    'SEGMENTATION', 'CLASSIFICATION', 'TaskMetric', 'TASK_METRICS',
    'config_task', 'main_metric', 'evaluator_types'
]

SEGMENTATION = 'segmentation'
CLASSIFICATION = 'classification'


@dataclass(frozen=True)
class TaskMetric:
    """One metric of a task.

    Attributes:
        key: the key the evaluator logs it under (``mIoU``,
            ``accuracy/top1``); a distillation run's teacher has it under
            ``teacher.<key>``.
        name: how tables and messages name it (``mIoU``, ``top-1``).
        metafile: its name in the ``Metrics`` of an OpenMMLab metafile
            (``mIoU``, ``Top 1 Accuracy``).
        field: its part of the field names of collected results
            (``student_mIoU``, ``teacher_top1``).
    """
    key: str
    name: str
    metafile: str
    field: str


#: task -> its metrics, the main one first.
TASK_METRICS: Dict[str, Tuple[TaskMetric, ...]] = {
    SEGMENTATION: (TaskMetric('mIoU', 'mIoU', 'mIoU', 'mIoU'), ),
    CLASSIFICATION: (TaskMetric('accuracy/top1', 'top-1', 'Top 1 Accuracy',
                                'top1'),
                     TaskMetric('accuracy/top5', 'top-5', 'Top 5 Accuracy',
                                'top5')),
}

#: evaluator types -> the task they evaluate
_EVALUATORS = {
    'IoUMetric': SEGMENTATION,
    'CityscapesMetric': SEGMENTATION,
    'DepthMetric': SEGMENTATION,
    'Accuracy': CLASSIFICATION,
    'SingleLabelMetric': CLASSIFICATION,
    'MultiLabelMetric': CLASSIFICATION,
    'AveragePrecision': CLASSIFICATION,
}
#: model types -> the task
_MODELS = {
    'EncoderDecoder': SEGMENTATION,
    'CascadeEncoderDecoder': SEGMENTATION,
    'ImageClassifier': CLASSIFICATION,
}
_CLASSIFICATION_SCOPES = ('mmcls::', 'mmpretrain::')


def _type_name(node: Any) -> str:
    if not isinstance(node, dict):
        return ''
    return str(node.get('type', '')).split('.')[-1]


def evaluator_types(cfg: Any) -> Tuple[str, ...]:
    """The metric types of ``cfg``'s validation and test evaluators."""
    found = []
    for key in ('val_evaluator', 'test_evaluator'):
        evaluator = cfg.get(key) if hasattr(cfg, 'get') else None
        metrics = evaluator
        if isinstance(evaluator, dict) and 'metrics' in evaluator:
            metrics = evaluator['metrics']
        for metric in (metrics if isinstance(metrics, (list, tuple))
                       else [metrics]):
            name = _type_name(metric)
            if name and name not in found:
                found.append(name)
    return tuple(found)


def _model_task(model: Any) -> Optional[str]:
    """The task of a model dict: its type, or for a distillation algorithm
    its student (``architecture``, a dict or a ``cfg_path``)."""
    if not isinstance(model, dict):
        return None
    task = _MODELS.get(_type_name(model))
    if task:
        return task
    student = model.get('architecture')
    if isinstance(student, dict):
        cfg_path = student.get('cfg_path')
        if isinstance(cfg_path, str):
            return (CLASSIFICATION if cfg_path.startswith(
                _CLASSIFICATION_SCOPES) else SEGMENTATION if
                cfg_path.startswith('mmseg::') else None)
        return _model_task(student)
    return None


def _dataset_task(cfg: Any) -> Optional[str]:
    from .dry_run import dataset_type
    name = dataset_type(cfg)
    try:
        from mmseg.registry import DATASETS as SEG
        if SEG.get(name) is not None:
            return SEGMENTATION
    except ImportError:
        pass
    try:
        from mmpretrain.registry import DATASETS as CLS
        if CLS.get(name) is not None:
            return CLASSIFICATION
    except ImportError:
        pass
    return None


def config_task(cfg: Any) -> str:
    """``'segmentation'`` or ``'classification'``: by the config's
    evaluators, else its model (a distillation's student), else the
    registry that holds its training dataset; segmentation when nothing
    tells."""
    for name in evaluator_types(cfg):
        if name in _EVALUATORS:
            return _EVALUATORS[name]
    model = cfg.get('model') if hasattr(cfg, 'get') else None
    return _model_task(model) or _dataset_task(cfg) or SEGMENTATION


def main_metric(task: str) -> TaskMetric:
    """The metric a task's results are compared by (mIoU, top-1)."""
    return TASK_METRICS[task][0]
