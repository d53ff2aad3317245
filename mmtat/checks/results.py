"""Results of mmtat's runs: the method a config runs, what finished
training runs reached (mIoU, iterations, device-hours) with the accuracy
table and plot, and the comparison of the two teacher passes of a cost
benchmark.

Shared by ``tools/benchmark.py`` (``--collect``, ``--teacher-pass``),
``tools/reproduce.py``, which ends a table with :func:`write_accuracy_report`,
and ``mmtat.tools.gpu_check``.
"""
import glob
import json
import os
import os.path as osp
import re
from datetime import datetime
from typing import Any, Dict, List, Sequence

__all__ = [
    'LOSS_METHODS', 'DISTILLER_METHODS', 'FLOOR_TEACHER', 'FLOOR_STUDENT',
    'method_name', 'dataset_name', 'collect_run', 'accuracy_markdown',
    'accuracy_plot', 'write_accuracy_report', 'fmt',
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
}
# distiller types that name their method themselves
DISTILLER_METHODS = {'TaTDistiller': 'TaT'}
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
    from mmengine.config import Config

    configs = glob.glob(osp.join(work_dir, '*.py'))
    if not configs:
        raise FileNotFoundError(
            f'{work_dir} holds no dumped config (*.py); is it a work dir of '
            'tools/train.py?')
    cfg = Config.fromfile(configs[0])
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
                    if 'mIoU' in record:
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
        raise ValueError(f'{work_dir}: no validation result (mIoU) logged')
    final = val_records[-1]
    teacher_miou = next((v for k, v in final.items()
                         if k.startswith('teacher') and k.endswith('mIoU')),
                        None)
    device_hours = wall_s * world_size / 3600.0
    student_miou = float(final['mIoU'])
    curve = []
    for record in val_records:
        step = int(record.get('step', 0))
        # the validation after iteration `step`: the time that iteration
        # ended (or the last logged one before it)
        logged = [i for i in iter_wall if i <= step]
        seconds = iter_wall[max(logged)] if logged else 0.0
        curve.append(dict(iteration=step, mIoU=float(record['mIoU']),
                          device_hours=seconds * world_size / 3600.0))
    method = method_name(cfg)
    if method == FLOOR_STUDENT:
        method = f'{_network_name(cfg.model)} alone'
    return dict(
        work_dir=work_dir,
        method=method,
        dataset=dataset_name(cfg),
        teacher_mIoU=teacher_miou,
        student_mIoU=student_miou,
        iterations=max(last_iter, int(final.get('step', 0))),
        train_wall_s=wall_s,
        world_size=world_size,
        device_hours=device_hours,
        mIoU_per_device_hour=(student_miou / device_hours
                              if device_hours > 0 else None),
        curve=curve)


def _network_name(model) -> str:
    """``DeepLabV3+ R18`` style name of a segmentor config."""
    heads = {'ASPPHead': 'DeepLabV3', 'DepthwiseSeparableASPPHead':
             'DeepLabV3+', 'PSPHead': 'PSPNet', 'SegformerHead': 'SegFormer',
             'FCNHead': 'FCN'}
    head = heads.get(str(model['decode_head']['type']).split('.')[-1],
                     str(model['decode_head']['type']))
    backbone = model['backbone']
    depth = backbone.get('depth')
    return f'{head} R{depth}' if depth else head


def accuracy_plot(rows, path: str) -> None:
    """Student mIoU against device-hours, one curve per run (its
    validations), for a comparison at matched training cost."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in rows:
        curve = r.get('curve') or []
        if not curve:
            continue
        xs = [p['device_hours'] for p in curve]
        ys = [p['mIoU'] for p in curve]
        ax.plot(xs, ys, marker='o', markersize=3,
                label=f'{r["method"]} ({r["dataset"]})')
    ax.set_xlabel('training device-hours (GPU-hours on GPUs; processes x '
                  'hours)')
    ax.set_ylabel('student mIoU (validation)')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    ax.set_title('accuracy at matched training cost', fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def accuracy_markdown(rows) -> str:
    lines = [
        '| method | dataset | teacher mIoU | student mIoU | iterations | '
        'training wall time | processes | mIoU per device-hour |',
        '|---|---|---|---|---|---|---|---|'
    ]
    for r in rows:
        lines.append(
            f'| {r["method"]} | {r["dataset"]} | '
            f'{fmt(r["teacher_mIoU"], ".2f")} | {r["student_mIoU"]:.2f} | '
            f'{r["iterations"]} | {r["train_wall_s"] / 60:.1f} min | '
            f'{r["world_size"]} | {fmt(r["mIoU_per_device_hour"], ".1f")} |')
    return '\n'.join(lines) + '\n'


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
