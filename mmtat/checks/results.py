"""Results of mmtat's runs: the method a config runs, what finished
training runs reached (the metric of their task: mIoU for segmentation,
top-1 and top-5 accuracy for classification; iterations, device-hours)
with the accuracy table and plot, and the comparison of the two teacher
passes of a cost benchmark.

A collected run names its figures by the metric
(:data:`mmtat.checks.task.TASK_METRICS`): ``student_mIoU``,
``teacher_mIoU`` and ``mIoU_per_device_hour`` for segmentation,
``student_top1``, ``student_top5``, ``teacher_top1``, ``teacher_top5`` and
``top1_per_device_hour`` for classification, with ``task`` and ``metric``
(the main one, ``mIoU`` or ``top-1``) saying which.

Shared by ``tools/benchmark.py`` (``--collect``, ``--teacher-pass``),
``tools/reproduce.py``, which ends a table with :func:`write_accuracy_report`,
and the repository's GPU check (``.dev_scripts/gpu_check.py``).
"""
import glob
import json
import os
import os.path as osp
import re
from datetime import datetime
from typing import Any, Dict, List, Sequence

from .task import TASK_METRICS, config_task, main_metric

__all__ = [
    'LOSS_METHODS', 'DISTILLER_METHODS', 'FLOOR_TEACHER', 'FLOOR_STUDENT',
    'method_name', 'dataset_name', 'collect_run', 'accuracy_markdown',
    'accuracy_plot', 'write_accuracy_report', 'fmt', 'row_metric',
    'compare_teacher_passes'
]

# distillation loss type -> the method's usual name
LOSS_METHODS = {
    'TaTLoss': 'TaT',
    'KLDivergence': 'KD',
    'ChannelWiseDivergence': 'CWD',
    'L2Loss': 'FitNets',
    'ATLoss': 'AT',
    'MGDLoss': 'MGD',
    'DISTLoss': 'DIST',
    'DKDLoss': 'DKD',
    'WSLD': 'WSLD',
}
# distiller types that name their method themselves
DISTILLER_METHODS = {'TaTDistiller': 'TaT', 'TaTClsDistiller': 'TaT'}
# what a configuration costs when it is one of the floors
FLOOR_TEACHER = 'teacher forward only'
FLOOR_STUDENT = 'student only'


def method_name(cfg) -> str:
    """The distillation method a config runs, from its distiller or loss
    types."""
    model = cfg.model
    if 'distiller' not in model:
        return FLOOR_STUDENT
    distiller_type = model.distiller.get('type', '').split('.')[-1]
    if distiller_type in DISTILLER_METHODS:
        return DISTILLER_METHODS[distiller_type]
    losses = model.distiller.get('distill_losses', {})
    names = []
    for loss in losses.values():
        loss_type = loss['type'].split('.')[-1]
        names.append(LOSS_METHODS.get(loss_type, loss_type))
    return '+'.join(dict.fromkeys(names)) or 'distill'


def dataset_name(cfg) -> str:
    """The dataset type a config trains on (inside dataset wrappers)."""
    from .dry_run import dataset_type
    return dataset_type(cfg)


def fmt(value, spec: str, missing: str = '-') -> str:
    """``format(value, spec)``, or ``missing`` for None."""
    return missing if value is None else format(value, spec)


_LOG_TIME = re.compile(r'^(\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2})')
_TRAIN_LINE = re.compile(r'Iter\(train\)\s*\[\s*(\d+)/(\d+)\]')
# mmengine logs the world size in its environment summary as 'GPU number'
# (on the CPU too)
_WORLD_SIZE = re.compile(r'(?:world_size[\'"]?\s*[:=]|GPU number:)\s*(\d+)')


def _run_dirs(work_dir: str) -> List[str]:
    """The timestamped run directories of a work dir, oldest first."""
    runs = sorted(
        d for d in glob.glob(osp.join(work_dir, '*'))
        if osp.isdir(d) and re.fullmatch(r'\d{8}_\d{6}', osp.basename(d)))
    if not runs:
        raise FileNotFoundError(
            f'{work_dir} holds no run directory (YYYYMMDD_HHMMSS/) written '
            'by tools/train.py')
    return runs


def collect_run(work_dir: str) -> Dict[str, Any]:
    """What the training run in ``work_dir`` reached: its last validation
    (the student's and, for a distillation, the teacher's figures in the
    metrics of the config's task), iterations, wall time and the curve of
    the main metric against device-hours."""
    from mmengine.config import Config

    configs = glob.glob(osp.join(work_dir, '*.py'))
    if not configs:
        raise FileNotFoundError(
            f'{work_dir} holds no dumped config (*.py); is it a work dir of '
            'tools/train.py?')
    cfg = Config.fromfile(configs[0])
    task = config_task(cfg)
    metrics = TASK_METRICS[task]
    main = main_metric(task)
    # metrics and iterations over every run in the dir (a resumed run
    # continues in a new run directory), wall time summed over runs.
    runs = _run_dirs(work_dir)
    val_records: List[Dict[str, Any]] = []
    wall_s = 0.0
    last_iter = 0
    world_size = 1
    # training wall time (summed over runs) at which each logged iteration
    # ended, for the accuracy-vs-time curve
    iter_wall: Dict[int, float] = {}
    for run in runs:
        scalars = osp.join(run, 'vis_data', 'scalars.json')
        if osp.isfile(scalars):
            with open(scalars) as f:
                for line in f:
                    record = json.loads(line)
                    if main.key in record:
                        val_records.append(record)
        logs = glob.glob(osp.join(run, '*.log'))
        if not logs:
            continue
        # A training line is logged at the end of every `interval`-th
        # iteration: training starts at the message logged before the first
        # one (the start of the train loop) and ends with the log's last
        # message (the last iterations, checkpoint, validation).
        first_t = last_t = prev_t = None
        with open(logs[0]) as f:
            for line in f:
                match = _WORLD_SIZE.search(line)
                if match:
                    world_size = int(match.group(1))
                train = _TRAIN_LINE.search(line)
                stamp = _LOG_TIME.match(line)
                if not stamp:
                    continue
                t = datetime.strptime(stamp.group(1), '%Y/%m/%d %H:%M:%S')
                if train:
                    first_t = first_t or prev_t or t
                    last_iter = max(last_iter, int(train.group(1)))
                    iter_wall[int(train.group(1))] = wall_s + (
                        t - first_t).total_seconds()
                prev_t = last_t = t
        if first_t is not None:
            wall_s += (last_t - first_t).total_seconds()
    if not val_records:
        raise ValueError(f'{work_dir}: no validation result ({main.key}) '
                         'logged')
    final = val_records[-1]
    figures: Dict[str, Any] = {}
    for metric in metrics:
        value = final.get(metric.key)
        figures[f'student_{metric.field}'] = (
            None if value is None else float(value))
        teacher = next((v for k, v in final.items() if k.startswith(
            'teacher') and k.endswith(metric.key)), None)
        figures[f'teacher_{metric.field}'] = (
            None if teacher is None else float(teacher))
    device_hours = wall_s * world_size / 3600.0
    student_main = figures[f'student_{main.field}']
    curve = []
    for record in val_records:
        step = int(record.get('step', 0))
        # the validation after iteration `step`: the time that iteration
        # ended (or the last logged one before it)
        logged = [i for i in iter_wall if i <= step]
        seconds = iter_wall[max(logged)] if logged else 0.0
        curve.append({'iteration': step,
                      main.field: float(record[main.key]),
                      'device_hours': seconds * world_size / 3600.0})
    method = method_name(cfg)
    if method == FLOOR_STUDENT:
        method = f'{_network_name(cfg.model)} alone'
    return dict(
        work_dir=work_dir,
        method=method,
        dataset=dataset_name(cfg),
        task=task,
        metric=main.name,
        **figures,
        iterations=max(last_iter, int(final.get('step', 0))),
        train_wall_s=wall_s,
        world_size=world_size,
        device_hours=device_hours,
        **{f'{main.field}_per_device_hour': (
            student_main / device_hours
            if device_hours > 0 and student_main is not None else None)},
        curve=curve)


def row_metric(row: Dict[str, Any]):
    """The main metric (:class:`~mmtat.checks.task.TaskMetric`) of a
    collected run (rows without ``task`` are segmentation ones)."""
    return main_metric(row.get('task', 'segmentation'))


def _network_name(model) -> str:
    """``DeepLabV3+ R18`` / ``DeepLabV3+ MobileNetV2`` / ``ResNet-18`` style
    name of a segmentor or classifier config."""
    backbone = model['backbone']
    depth = backbone.get('depth')
    backbone_type = str(backbone.get('type', '')).split('.')[-1]
    if 'decode_head' not in model:  # a classifier: its backbone
        if backbone_type == 'ResNet' and depth:
            return f'ResNet-{depth}'
        return backbone_type or str(model.get('type', 'model'))
    heads = {'ASPPHead': 'DeepLabV3', 'DepthwiseSeparableASPPHead':
             'DeepLabV3+', 'PSPHead': 'PSPNet', 'SegformerHead': 'SegFormer',
             'FCNHead': 'FCN'}
    head = heads.get(str(model['decode_head']['type']).split('.')[-1],
                     str(model['decode_head']['type']))
    if depth:
        return f'{head} R{depth}'
    # a segmentor on another named backbone (MMSegmentation's MobileNetV2)
    return f'{head} {backbone_type}' if backbone_type in ('MobileNetV2',
                                                          ) else head


def accuracy_plot(rows, path: str) -> None:
    """The student's main metric (mIoU, top-1) against device-hours, one
    curve per run (its validations), for a comparison at matched training
    cost."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    names = []
    for r in rows:
        curve = r.get('curve') or []
        if not curve:
            continue
        metric = row_metric(r)
        names.append(metric.name)
        xs = [p['device_hours'] for p in curve]
        ys = [p[metric.field] for p in curve]
        ax.plot(xs, ys, marker='o', markersize=3,
                label=f'{r["method"]} ({r["dataset"]})')
    ax.set_xlabel('training device-hours (GPU-hours on GPUs; processes x '
                  'hours)')
    ax.set_ylabel(f'student {" / ".join(dict.fromkeys(names)) or "mIoU"} '
                  '(validation)')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title('accuracy at matched training cost', fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _task_markdown(task: str, rows) -> List[str]:
    """The table of the runs of one task: the teacher's and the student's
    figures in each metric of the task."""
    metrics = TASK_METRICS[task]
    main = metrics[0]
    heads = [f'teacher {m.name}' for m in metrics] + [
        f'student {m.name}' for m in metrics]
    lines = [
        '| method | dataset | ' + ' | '.join(heads) + ' | iterations | '
        f'training wall time | processes | {main.name} per device-hour | '
        'run |',
        '|---|---|' + '---|' * len(heads) + '---|---|---|---|---|'
    ]
    for r in rows:
        cells = [fmt(r.get(f'{who}_{m.field}'), '.2f')
                 for who in ('teacher', 'student') for m in metrics]
        lines.append(
            f'| {r["method"]} | {r["dataset"]} | ' + ' | '.join(cells) +
            f' | {r["iterations"]} | {r["train_wall_s"] / 60:.1f} min | '
            f'{r["world_size"]} | '
            f'{fmt(r.get(f"{main.field}_per_device_hour"), ".1f")} | '
            f'{osp.basename(osp.normpath(r["work_dir"]))} |')
    return lines


def accuracy_markdown(rows) -> str:
    """The collected runs as a Markdown table (one per task when the rows
    mix segmentation and classification runs)."""
    by_task: Dict[str, List[Dict[str, Any]]] = {}
    for r in rows:
        by_task.setdefault(r.get('task', 'segmentation'), []).append(r)
    tables = ['\n'.join(_task_markdown(task, task_rows))
              for task, task_rows in by_task.items()]
    return '\n\n'.join(tables or ['\n'.join(_task_markdown(
        'segmentation', []))]) + '\n'


def write_accuracy_report(work_dirs: Sequence[str], out: str) -> str:
    """Collect ``work_dirs`` (:func:`collect_run`) into ``OUT/accuracy.json``,
    ``accuracy.md`` and ``accuracy.png``; returns the table."""
    os.makedirs(out, exist_ok=True)
    rows = [collect_run(d) for d in work_dirs]
    with open(osp.join(out, 'accuracy.json'), 'w') as f:
        json.dump(dict(results=rows), f, indent=2)
    table = accuracy_markdown(rows)
    with open(osp.join(out, 'accuracy.md'), 'w') as f:
        f.write(table)
    accuracy_plot(rows, osp.join(out, 'accuracy.png'))
    return table


def _losses_relative_difference(a: Dict[str, float],
                                b: Dict[str, float]) -> float:
    """Largest relative difference of the losses (not the accuracies)."""
    return max(abs(a[k] - b[k]) / max(abs(b[k]), 1e-12) for k in b
               if k in a and 'loss' in k)


def compare_teacher_passes(
        results: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The lean against the full teacher pass of each config that a cost
    benchmark (``tools/benchmark.py --teacher-pass full lean``) measured
    with both: ``(full, lean)`` pairs of the iteration time, the teacher
    pass time and the peak memory, the lean/full ratios, and the largest
    relative differences of their loss checks' losses and records."""
    runs: Dict[str, Dict[str, Any]] = {}
    for r in results:
        if r['role'] == 'method' and r.get('teacher_pass'):
            runs.setdefault(r['config'], {})[r['teacher_pass']] = r
    rows = []
    for config, by_pass in runs.items():
        if not {'full', 'lean'} <= set(by_pass):
            continue
        full, lean = by_pass['full'], by_pass['lean']
        errors = lean.get('records_rel_error') or {}
        pair = {
            key: (full[key], lean[key])
            for key in ('iter_time_s', 'teacher_pass_s', 'peak_mem_mb')
        }
        rows.append(dict(
            config=config, method=lean['method'], dataset=lean['dataset'],
            **pair,
            iter_ratio=lean['iter_time_s'] / full['iter_time_s'],
            teacher_pass_ratio=lean['teacher_pass_s'] /
            full['teacher_pass_s'],
            losses_rel_diff=(_losses_relative_difference(
                lean['loss_check'], full['loss_check'])
                if lean.get('loss_check') and full.get('loss_check') else
                None),
            records_rel_diff=max(errors.values()) if errors else None))
    return rows
