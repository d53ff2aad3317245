"""Side-by-side cost (and accuracy) of distillation methods.

Cost, on synthetic batches with random weights (cost does not depend on the
weights), offline::

    python -m mmtat.tools.benchmark configs/tat/deeplabv3_r101_r18_voc.py \\
        configs/baselines/kd_deeplabv3_r101_r18_voc.py \\
        --iters 10 --warmup 2 --batch-size 4 --crop 512 512 --device cuda \\
        --out work_dirs/benchmark

writes ``OUT/benchmark.json``, ``OUT/benchmark.md`` and ``OUT/benchmark.png``.
Every configuration is measured in its own subprocess, so that on the CPU the
rise of the process's peak resident memory belongs to that configuration
alone. For distillation configs the teacher's forward pass alone and the
student's training step alone are measured too: they are the floor that no
distillation method can go below.

Accuracy, from finished training runs::

    python tools/benchmark.py --collect work_dirs/tat_voc work_dirs/kd_voc \\
        --out work_dirs/benchmark

writes ``OUT/accuracy.json`` and ``OUT/accuracy.md``: method, dataset,
teacher and student mIoU, iterations, wall-clock training time and student
mIoU per device-hour (GPU-hours on GPUs; process-hours on the CPU), and
``OUT/accuracy.png``: each run's validation mIoU against the device-hours
spent when it was measured (a comparison at matched training cost).
"""
import argparse
import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time
from datetime import datetime
from typing import Any, Dict, List

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


# --------------------------------------------------------------------------
# configuration handling (shared by the parent and the workers)
# --------------------------------------------------------------------------
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
    dataset = cfg.get('train_dataloader', {}).get('dataset', {})
    while 'datasets' in dataset or 'dataset' in dataset:
        if 'datasets' in dataset:
            dataset = dataset['datasets'][0]
        else:
            dataset = dataset['dataset']
    return str(dataset.get('type', 'unknown')).split('.')[-1]


def _set_offline_and_size(cfg, crop) -> None:
    """Random weights, no download, data preprocessor padding to ``crop``."""
    from mmtat.utils import make_offline
    make_offline(cfg, mode='train')
    model = cfg.model
    for holder in (model, model.get('architecture'), model.get('teacher')):
        if isinstance(holder, dict) and isinstance(
                holder.get('data_preprocessor'), dict):
            holder['data_preprocessor']['size'] = tuple(crop)


def _num_classes(cfg) -> int:
    model = cfg.model
    seg = model.get('architecture', model)
    return int(seg['decode_head']['num_classes'])


def _synthetic_batch(batch_size: int, crop, num_classes: int, seed: int = 0):
    import torch
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    generator = torch.Generator().manual_seed(seed)
    height, width = crop
    inputs, samples = [], []
    for _ in range(batch_size):
        inputs.append(
            torch.randint(0, 256, (3, height, width), generator=generator,
                          dtype=torch.uint8))
        label = torch.randint(0, num_classes, (1, height, width),
                              generator=generator)
        sample = SegDataSample(metainfo=dict(
            img_shape=(height, width), ori_shape=(height, width),
            pad_shape=(height, width), scale_factor=(1.0, 1.0),
            flip=False, flip_direction=None))
        sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


# --------------------------------------------------------------------------
# worker: measures one configuration in a fresh process
# --------------------------------------------------------------------------
def _peak_rss_mb() -> float:
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _count_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def _time_loop(step, iters: int, warmup: int, device: str, label: str):
    """Run ``step`` warmup + iters times; returns per-iteration seconds."""
    import torch

    def sync():
        if device == 'cuda':
            torch.cuda.synchronize()

    for i in range(warmup):
        step()
        print(f'    {label}: warmup {i + 1}/{warmup}', file=sys.stderr,
              flush=True)
    sync()
    times = []
    for i in range(iters):
        start = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - start)
        print(f'    {label}: iter {i + 1}/{iters} {times[-1]:.3f}s',
              file=sys.stderr, flush=True)
    return times


def _median(values: List[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return 0.5 * (ordered[mid - 1] + ordered[mid])


def run_worker(spec: Dict[str, Any]) -> Dict[str, Any]:
    import torch
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import MODELS, DefaultScope

    import mmtat  # noqa: F401  (compat fixes, TaT registration)
    from mmtat.tools._common import set_amp

    device = spec['device']
    torch.manual_seed(0)
    cfg = Config.fromfile(spec['config'])
    _set_offline_and_size(cfg, spec['crop'])
    scope = cfg.get('default_scope', 'mmseg')
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(cfg.model)
    # SyncBN needs a process group; the cost of a BN layer is the same.
    model = revert_sync_batchnorm(model).to(device)
    model.train()
    data = _synthetic_batch(spec['batch_size'], spec['crop'],
                            _num_classes(cfg))
    role = spec['role']
    is_distill = hasattr(model, 'distiller')
    amp = bool(spec.get('amp'))
    if amp:
        set_amp(cfg)  # as tools/train.py --amp
    result: Dict[str, Any] = dict(
        config=spec['display'],
        method=role if role != 'method' else method_name(cfg),
        role=role,
        dataset=dataset_name(cfg),
        batch_size=spec['batch_size'],
        crop=list(spec['crop']),
        device=device,
        amp=amp)

    with DefaultScope.overwrite_default_scope(scope):
        if role == 'teacher':
            teacher = model.teacher

            def step():
                with torch.no_grad(), torch.autocast(
                        device_type=device, dtype=torch.float16,
                        enabled=amp):
                    batch = model.data_preprocessor(data, True)
                    teacher(batch['inputs'], batch['data_samples'],
                            mode='tensor')
        elif role == 'student':
            student = model.architecture if is_distill else model
            optim_wrapper = build_optim_wrapper(student, cfg.optim_wrapper)

            def step():
                batch = model.data_preprocessor(data, True)
                with optim_wrapper.optim_context(student):
                    losses = student.loss(batch['inputs'],
                                          batch['data_samples'])
                loss, _ = student.parse_losses(losses)
                optim_wrapper.update_params(loss)
        else:
            optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)

            def step():
                model.train_step(data, optim_wrapper)

        if device == 'cuda':
            torch.cuda.reset_peak_memory_stats()
        rss_before = _peak_rss_mb()
        times = _time_loop(step, spec['iters'], spec['warmup'], device,
                           result['method'])
        if device == 'cuda':
            peak_mem = torch.cuda.max_memory_allocated() / 2**20
        else:
            peak_mem = _peak_rss_mb() - rss_before
        result.update(
            iter_time_s=_median(times),
            iter_times_s=times,
            peak_mem_mb=peak_mem,
            peak_mem_method=('torch.cuda.max_memory_allocated'
                             if device == 'cuda' else
                             'rise of process peak RSS (ru_maxrss)'),
            distill_time_s=None,
            distill_params=0)

        if role == 'method' and is_distill:
            result['distill_params'] = _count_params(model.distiller)
            result['distill_time_s'] = _distill_time(model, spec, device)
    return result


def _distill_time(model, spec, device) -> float:
    """Median forward+backward time of the distiller's losses and connectors.

    The recorders still hold the last iteration's features. The student's
    are replaced by detached leaves, so the backward pass stops at the
    distiller's inputs and the time is that of the losses and connectors
    alone (their parameters' gradients included).
    """
    import torch

    distiller = model.distiller
    for recorder in distiller.student_recorders.recorders.values():
        buffer = recorder.data_buffer
        for index, value in enumerate(buffer):
            if isinstance(value, torch.Tensor):
                buffer[index] = value.detach().requires_grad_(True)

    def step():
        losses = distiller.compute_distill_losses()
        total = sum(v.sum() for v in losses.values())
        total.backward()
        distiller.zero_grad(set_to_none=True)

    times = _time_loop(step, spec['iters'], 1, device, 'distill losses')
    return _median(times)


# --------------------------------------------------------------------------
# parent: one subprocess per measurement, then the reports
# --------------------------------------------------------------------------
def _measure(spec: Dict[str, Any]) -> Dict[str, Any]:
    import mmtat

    # the worker imports the same mmtat as this process, installed or not
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [osp.dirname(osp.dirname(osp.abspath(mmtat.__file__)))] +
        [p for p in [env.get('PYTHONPATH')] if p])
    cmd = [sys.executable, '-m', 'mmtat.tools.benchmark', '--worker',
           json.dumps(spec)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=None,
                          text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(
            f'measuring {spec["config"]} ({spec["role"]}) failed with exit '
            f'code {proc.returncode}; its output is above.')
    last = proc.stdout.strip().splitlines()[-1]
    return json.loads(last)


def run_benchmark(args) -> List[Dict[str, Any]]:
    from mmengine.config import Config

    import mmtat  # noqa: F401
    from mmtat.utils import display_config

    jobs = []
    seen_floors = set()
    for config in args.configs:
        if not osp.isfile(config):
            raise FileNotFoundError(f'config not found: {config}')
        cfg = Config.fromfile(config)
        if 'distiller' in cfg.model:
            for role, part in (('teacher', 'teacher'),
                               ('student', 'architecture')):
                key = (role, json.dumps(cfg.model[part].to_dict(),
                                        sort_keys=True, default=str))
                if key not in seen_floors:
                    seen_floors.add(key)
                    jobs.append((config, role))
        jobs.append((config, 'method'))

    results = []
    for index, (config, role) in enumerate(jobs, 1):
        label = {'teacher': FLOOR_TEACHER, 'student': FLOOR_STUDENT}.get(
            role, 'method')
        print(f'[{index}/{len(jobs)}] {config}: {label}', flush=True)
        spec = dict(config=osp.abspath(config), role=role,
                    display=display_config(config),
                    iters=args.iters, warmup=args.warmup,
                    batch_size=args.batch_size, crop=list(args.crop),
                    device=args.device, amp=args.amp)
        result = _measure(spec)
        if role == 'teacher':
            result['method'] = FLOOR_TEACHER
        elif role == 'student':
            result['method'] = FLOOR_STUDENT
        results.append(result)
        print(f'    -> {result["method"]}: {result["iter_time_s"]:.3f} s/iter,'
              f' peak {result["peak_mem_mb"]:.0f} MB', flush=True)
    return results


def _fmt(value, spec: str, missing: str = '-') -> str:
    return missing if value is None else format(value, spec)


def benchmark_markdown(results, machine) -> str:
    first = results[0]
    lines = [
        f'Machine: {machine["cpu"]} ({machine["cpu_count"]} cores)'
        + (f', {machine["gpu"]}' if 'gpu' in machine else '')
        + f', torch {machine["torch"]}, device {machine["device"]}, '
        f'{machine["date"]}.',
        f'Batch {first["batch_size"]}, crop {first["crop"][0]}x'
        f'{first["crop"][1]}, '
        f'{"AMP (float16), " if first.get("amp") else ""}random weights, '
        f'synthetic data; peak memory: {first["peak_mem_method"]}.', '',
        '| method | dataset | config | s / iter (median) | vs. student '
        'only | distill losses s / iter | peak mem (MB) | distiller params |',
        '|---|---|---|---|---|---|---|---|'
    ]
    student_times = {
        r['dataset']: r['iter_time_s']
        for r in results if r['role'] == 'student'
    }
    for r in results:
        base = student_times.get(r['dataset'])
        ratio = (f'{r["iter_time_s"] / base:.2f}x'
                 if base and r['role'] == 'method' else '-')
        lines.append(
            f'| {r["method"]} | {r["dataset"]} | `{r["config"]}` | '
            f'{r["iter_time_s"]:.3f} | {ratio} | '
            f'{_fmt(r["distill_time_s"], ".3f")} | '
            f'{r["peak_mem_mb"]:.0f} | {r["distill_params"]:,} |')
    return '\n'.join(lines) + '\n'


def benchmark_plot(results, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    labels = [f'{r["method"]}\n{r["dataset"]}' for r in results]
    colors = ['#999999' if r['role'] != 'method' else '#1f77b4'
              for r in results]
    fig, axes = plt.subplots(1, 2, figsize=(max(8, 1.4 * len(results)), 4))
    axes[0].bar(labels, [r['iter_time_s'] for r in results], color=colors)
    axes[0].set_ylabel('seconds / iteration (median)')
    axes[1].bar(labels, [r['peak_mem_mb'] for r in results], color=colors)
    axes[1].set_ylabel('peak memory (MB)')
    for ax in axes:
        ax.tick_params(axis='x', labelsize=7, rotation=45)
    fig.suptitle('grey: floors (teacher forward only, student only)')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# --------------------------------------------------------------------------
# --collect: accuracy and training cost from finished work directories
# --------------------------------------------------------------------------
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
            f'{_fmt(r["teacher_mIoU"], ".2f")} | {r["student_mIoU"]:.2f} | '
            f'{r["iterations"]} | {r["train_wall_s"] / 60:.1f} min | '
            f'{r["world_size"]} | {_fmt(r["mIoU_per_device_hour"], ".1f")} |')
    return '\n'.join(lines) + '\n'


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Benchmark distillation methods side by side.')
    parser.add_argument('configs', nargs='*', help='configs to measure')
    parser.add_argument('--iters', type=int, default=10,
                        help='timed iterations per config (default 10)')
    parser.add_argument('--warmup', type=int, default=2,
                        help='untimed iterations before them (default 2)')
    parser.add_argument('--batch-size', type=int, default=4,
                        help='images per synthetic batch, at least 2 '
                        '(default 4)')
    parser.add_argument('--crop', type=int, nargs=2, default=(512, 512),
                        metavar=('H', 'W'),
                        help='synthetic image size (default 512 512)')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu',
                        help='where to run (default cpu)')
    parser.add_argument(
        '--amp', action='store_true',
        help='mixed precision as tools/train.py --amp trains (CUDA only)')
    parser.add_argument('--out', default='work_dirs/benchmark',
                        help='output directory')
    parser.add_argument('--collect', nargs='+', metavar='WORK_DIR',
                        help='read finished training runs instead')
    parser.add_argument('--worker', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is None and not args.collect and not args.configs:
        parser.error('give CONFIG(s) to measure or --collect WORK_DIR(s)')
    if args.iters < 1 or args.warmup < 0:
        parser.error('--iters must be >= 1 and --warmup >= 0')
    if args.worker is None and not args.collect and args.batch_size < 2:
        # DeepLabV3's ASPP image-pool branch applies BatchNorm to a 1x1 map,
        # which cannot be trained on a single image.
        parser.error(f'--batch-size must be >= 2 for a training step of '
                     f'these segmentors, got {args.batch_size}')
    if min(args.crop) < 32:
        parser.error(f'--crop must be at least 32x32, got {args.crop}')
    if args.amp and args.device != 'cuda':
        parser.error('--amp needs --device cuda: mmengine\'s '
                     'AmpOptimWrapper, which tools/train.py --amp uses, '
                     'runs on CUDA only')
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.worker is not None:
        print(json.dumps(run_worker(json.loads(args.worker))))
        return
    os.makedirs(args.out, exist_ok=True)
    if args.collect:
        rows = [collect_run(d) for d in args.collect]
        with open(osp.join(args.out, 'accuracy.json'), 'w') as f:
            json.dump(dict(results=rows), f, indent=2)
        table = accuracy_markdown(rows)
        with open(osp.join(args.out, 'accuracy.md'), 'w') as f:
            f.write(table)
        accuracy_plot(rows, osp.join(args.out, 'accuracy.png'))
        print(table)
        print(f'written: {args.out}/accuracy.json, accuracy.md, '
              'accuracy.png')
        return
    if args.device == 'cuda':
        import torch
        if not torch.cuda.is_available():
            raise SystemExit('--device cuda: no CUDA device is available')
    results = run_benchmark(args)
    from mmtat.utils.machine import machine_info
    machine = machine_info(args.device)
    with open(osp.join(args.out, 'benchmark.json'), 'w') as f:
        json.dump(dict(results=results, machine=machine), f, indent=2)
    table = benchmark_markdown(results, machine)
    with open(osp.join(args.out, 'benchmark.md'), 'w') as f:
        f.write(table)
    benchmark_plot(results, osp.join(args.out, 'benchmark.png'))
    print(table)
    print(f'written: {args.out}/benchmark.json, benchmark.md, benchmark.png')


if __name__ == '__main__':
    main()
