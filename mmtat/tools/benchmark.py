"""Side-by-side cost (and accuracy) of distillation methods.

Cost, on synthetic batches with random weights (cost does not depend on the
weights), offline::

    python -m mmtat.tools.benchmark configs/tat/deeplabv3_r101_r18_voc.py \\
        configs/baselines/kd_deeplabv3_r101_r18_voc.py \\
        --iters 10 --warmup 2 --batch-size 4 --crop 512 512 --device cuda \\
        --out work_dirs/benchmark

writes ``OUT/benchmark.json``, ``OUT/benchmark.md`` and ``OUT/benchmark.png``.
Every configuration is measured in a process of its own, so that on the CPU
the rise of the process's peak resident memory belongs to that configuration
alone (and on CUDA the peak of allocated memory); the processes are forked
from a server process that has imported the stack once (``multiprocessing``'s
``forkserver``; it never initialises CUDA), so a measurement does not pay the
imports again. For distillation configs the teacher's forward pass alone and
the student's training step alone are measured too: they are the floor that no
distillation method can go below; and within each distillation iteration,
the time of the teacher's pass as the algorithm runs it.

``--teacher-pass full lean`` measures each distillation config twice, with
MMRazor's teacher pass (``teacher(..., mode='loss')``, default memory
layout) and with mmtat's lean one (:class:`~mmtat.models.
LeanSingleTeacherDistill`), and adds a table of the ratios and of the
losses of both from the same weights and batch.

Classification configs (MMPretrain's ``ImageClassifier`` students and
teachers, ``configs/tat/*_in1k.py`` and the ImageNet baselines) are measured
the same way, on synthetic images of ``--crop`` with one random label each
of the student's classes (``--crop 224 224`` for ImageNet's training
crop)::

    python tools/benchmark.py configs/tat/resnet34_resnet18_in1k.py \\
        configs/baselines/kd_resnet34_resnet18_in1k.py \\
        --crop 224 224 --batch-size 32 --iters 3 --warmup 1

Accuracy, from finished training runs::

    python tools/benchmark.py --collect work_dirs/tat_voc work_dirs/kd_voc \\
        --out work_dirs/benchmark

writes ``OUT/accuracy.json`` and ``OUT/accuracy.md``: method, dataset,
teacher and student mIoU (top-1 and top-5 for classification runs),
iterations, wall-clock training time and student mIoU (top-1) per
device-hour (GPU-hours on GPUs; process-hours on the CPU), and
``OUT/accuracy.png``: each run's validation mIoU (top-1) against the
device-hours spent when it was measured (a comparison at matched training
cost).
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from typing import Any, Dict, List, Optional

from mmtat.checks.results import (
    FLOOR_STUDENT,
    FLOOR_TEACHER,
    compare_teacher_passes,
    dataset_name,
    fmt,
    method_name,
    write_accuracy_report,
)
from mmtat.utils.errors import InputError

#: --teacher-pass: the algorithm options each pass sets
TEACHER_PASSES = {
    # MMRazor's SingleTeacherDistill: teacher(..., mode='loss'), networks in
    # the default memory layout
    'full': dict(lean_teacher=False, teacher_channels_last=False,
                 student_channels_last=False),
    # LeanSingleTeacherDistill as the config sets it, with the lean pass on
    'lean': dict(lean_teacher=True),
}


# --------------------------------------------------------------------------
# configuration handling (shared by the parent and the workers)
# --------------------------------------------------------------------------
def _set_offline_and_size(cfg, crop) -> None:
    """Random weights, no download, data preprocessor padding to ``crop``
    and the distiller's shape pass (``input_size``) at ``crop`` (a
    classifier's pre-processor has no size, and a ``cfg_path`` network is
    not pretrained)."""
    from mmtat.checks import make_offline
    from mmtat.checks.task import CLASSIFICATION, config_task
    make_offline(cfg, mode='train')
    model = cfg.model
    distiller = model.get('distiller')
    if isinstance(distiller, dict) and 'input_size' in distiller:
        distiller['input_size'] = tuple(crop)
    if config_task(cfg) == CLASSIFICATION:
        for holder in (model.get('architecture'), model.get('teacher')):
            if isinstance(holder, dict) and holder.get('cfg_path'):
                holder['pretrained'] = False
        return
    for holder in (model, model.get('architecture'), model.get('teacher')):
        if isinstance(holder, dict) and isinstance(
                holder.get('data_preprocessor'), dict):
            holder['data_preprocessor']['size'] = tuple(crop)


def _set_teacher_pass(cfg, teacher_pass: Optional[str]) -> None:
    """The options of ``teacher_pass`` (:data:`TEACHER_PASSES`) in
    ``cfg.model``, which must be mmtat's algorithm."""
    if teacher_pass is None or 'distiller' not in cfg.model:
        return
    from mmrazor.registry import MODELS

    from mmtat.models import LeanSingleTeacherDistill
    algorithm = str(cfg.model.get('type', '')).split('.')[-1]
    cls = MODELS.get(algorithm)
    if not (isinstance(cls, type)
            and issubclass(cls, LeanSingleTeacherDistill)):
        raise InputError(
            f'--teacher-pass {teacher_pass}: the config\'s algorithm is '
            f'{algorithm!r}; the pass is an option of mmtat\'s '
            "LeanSingleTeacherDistill (model.type='LeanSingleTeacherDistill'"
            ', as in the shipped configs).')
    cfg.model.update(TEACHER_PASSES[teacher_pass])


def _num_classes(model) -> int:
    """The class count of a built segmentor or classifier (a distillation
    algorithm's student)."""
    student = getattr(model, 'architecture', model)
    head = getattr(student, 'decode_head', None) or getattr(
        student, 'head', None)
    return int(head.num_classes)


def _student_name(model) -> str:
    """The student network of a built model (a distillation algorithm's
    ``architecture``), e.g. ``ResNetV1c-18`` or ``MobileNetV2``: the
    "student only" floor a method is compared with is that of its
    student."""
    student = getattr(model, 'architecture', model)
    backbone = getattr(student, 'backbone', student)
    depth = getattr(backbone, 'depth', None)
    return type(backbone).__name__ + (f'-{depth}' if depth else '')


def _synthetic_batch(batch_size: int, crop, num_classes: int, seed: int = 0,
                     classification: bool = False):
    """Random uint8 images of ``crop`` with random labels: a label map each
    for segmentation, one class each for classification."""
    import torch
    from mmengine.structures import PixelData

    generator = torch.Generator().manual_seed(seed)
    height, width = crop
    inputs, samples = [], []
    for _ in range(batch_size):
        inputs.append(
            torch.randint(0, 256, (3, height, width), generator=generator,
                          dtype=torch.uint8))
        if classification:
            from mmpretrain.structures import DataSample
            label = int(torch.randint(0, num_classes, (1, ),
                                      generator=generator))
            samples.append(DataSample(metainfo=dict(
                img_shape=(height, width),
                ori_shape=(height, width))).set_gt_label(label))
            continue
        from mmseg.structures import SegDataSample
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
# worker: measures one configuration in a process of its own
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


def _teacher_timer(teacher, device: str) -> List[float]:
    """Hooks on ``teacher`` that time each of its calls (in a distillation
    iteration: the teacher's pass alone); returns the list they fill."""
    import torch
    times: List[float] = []
    started: List[float] = []

    def sync():
        if device == 'cuda':
            torch.cuda.synchronize()

    def start(*_):
        sync()
        started.append(time.perf_counter())

    def stop(*_):
        sync()
        times.append(time.perf_counter() - started.pop())

    teacher.register_forward_pre_hook(start)
    teacher.register_forward_hook(stop)
    return times


def _loss_check(model, data, optim_wrapper,
                records_path: Optional[str] = None) -> Dict[str, float]:
    """The losses of one forward pass (no update) with every dropout layer
    in eval mode and a fixed seed: the same for the full and the lean
    teacher pass when the lean one records the same features (the full pass
    runs dropout layers the lean one skips, which would shift the random
    masks of the student's). With ``records_path``, the records the losses
    read are saved there (as float32 in the default layout)."""
    import torch
    from torch import nn
    model.train()
    for module in model.modules():
        if isinstance(module, nn.modules.dropout._DropoutNd) or type(
                module).__name__ == 'DropPath':
            module.eval()
    torch.manual_seed(1)
    with torch.no_grad(), optim_wrapper.optim_context(model):
        batch = model.data_preprocessor(data, True)
        losses = model(**batch, mode='loss')
    total, log_vars = model.parse_losses(losses)
    model.train()
    if records_path is not None:
        torch.save(_records_read(model.distiller), records_path)
    return {key: float(value) for key, value in log_vars.items()}


def _records_read(distiller) -> Dict[str, Any]:
    """``'teacher.<recorder>[i]'`` / ``'student...'`` -> each record a loss
    of the distiller reads."""
    records = {}
    for mapping in distiller.loss_forward_mappings.values():
        for spec in mapping.values():
            side = 'student' if spec['from_student'] else 'teacher'
            index = spec.get('record_idx', 0)
            data = getattr(distiller, f'{side}_recorders').get_recorder(
                spec['recorder']).get_record_data(index,
                                                  spec.get('data_idx'))
            records[f'{side}.{spec["recorder"]}[{index}]'] = data.detach(
            ).float().cpu().contiguous()
    return records


def _records_relative_error(path: str, reference: str) -> Dict[str, float]:
    """``|a - b| / |b|`` of each record saved at ``path`` against the one at
    ``reference`` (:func:`_loss_check`)."""
    import torch
    got, want = (torch.load(p, weights_only=True) for p in (path, reference))
    return {
        key: float((got[key].double() - want[key].double()).norm() /
                   want[key].double().norm().clamp(min=1e-30))
        for key in sorted(want) if key in got
    }


def run_worker(spec: Dict[str, Any]) -> Dict[str, Any]:
    import copy

    import torch
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import MODELS, DefaultScope

    import mmtat  # noqa: F401  (compat fixes, TaT registration)
    from mmtat.compat import enable_config_caches
    from mmtat.tools._common import set_amp

    enable_config_caches()  # a forked process has the server's mmengine
    device = spec['device']
    torch.manual_seed(0)
    cfg = Config.fromfile(spec['config'])
    _set_offline_and_size(cfg, spec['crop'])
    _set_teacher_pass(cfg, spec.get('teacher_pass'))
    scope = cfg.get('default_scope', 'mmseg')
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(cfg.model)
    # SyncBN needs a process group; the cost of a BN layer is the same.
    model = revert_sync_batchnorm(model).to(device)
    model.train()
    from mmtat.checks.task import CLASSIFICATION, config_task
    data = _synthetic_batch(
        spec['batch_size'], spec['crop'], _num_classes(model),
        classification=config_task(cfg) == CLASSIFICATION)
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
        student=_student_name(model),
        batch_size=spec['batch_size'],
        crop=list(spec['crop']),
        device=device,
        amp=amp,
        teacher_pass=spec.get('teacher_pass'),
        teacher_pass_s=None,
        loss_check=None)

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
            if is_distill:
                # for the loss check after the timed (training) iterations
                initial_state = copy.deepcopy(model.state_dict())
                teacher_times = _teacher_timer(model.teacher, device)

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
            result['teacher_pass_s'] = _median(
                teacher_times[spec['warmup']:])
            result['distill_params'] = _count_params(model.distiller)
            result['distill_time_s'] = _distill_time(model, spec, device)
            model.load_state_dict(initial_state)
            result['loss_check'] = _loss_check(model, data, optim_wrapper,
                                               spec.get('records_path'))
        result['teacher_pass_used'] = getattr(model, 'teacher_pass', None)
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
# parent: one process per measurement, then the reports
# --------------------------------------------------------------------------
#: what the server of the measuring processes imports once
WORKER_PRELOAD = ['torch', 'mmengine.runner', 'mmtat', 'mmtat.tools.benchmark']


def _worker(spec: Dict[str, Any], results: Any) -> None:
    results.send(json.dumps(run_worker(spec)))
    results.close()


def _measure(spec: Dict[str, Any]) -> Dict[str, Any]:
    import multiprocessing

    # multiprocessing's forkserver: one server per process (started at the
    # first measurement, single-threaded, never initialising CUDA) imports
    # WORKER_PRELOAD once and forks each measuring process
    context = multiprocessing.get_context('forkserver')
    context.set_forkserver_preload(WORKER_PRELOAD)
    receive, send = context.Pipe(duplex=False)
    worker = context.Process(target=_worker, args=(spec, send))
    worker.start()
    send.close()
    try:
        payload = receive.recv()
    except EOFError:  # it ended without a result; its error is above
        payload = None
    worker.join()
    if worker.exitcode != 0 or payload is None:
        raise RuntimeError(
            f'measuring {spec["config"]} ({spec["role"]}) failed with exit '
            f'code {worker.exitcode}; its output is above.')
    return json.loads(payload)


def run_benchmark(args) -> List[Dict[str, Any]]:
    import copy
    import tempfile

    from mmengine.config import Config

    import mmtat  # noqa: F401
    from mmtat.utils import display_config

    jobs = []
    seen_floors = set()
    for config in args.configs:
        if not osp.isfile(config):
            raise InputError(f'the config file {config} does not exist.')
        cfg = Config.fromfile(config)
        passes = [None]
        if 'distiller' in cfg.model:
            floors = [] if args.no_floors else [('teacher', 'teacher'),
                                                ('student', 'architecture')]
            for role, part in floors:
                key = (role, json.dumps(cfg.model[part].to_dict(),
                                        sort_keys=True, default=str))
                if key not in seen_floors:
                    seen_floors.add(key)
                    jobs.append((config, role, None))
            passes = args.teacher_pass or [None]
            for teacher_pass in passes:
                _set_teacher_pass(copy.deepcopy(cfg), teacher_pass)  # check
        jobs += [(config, 'method', p) for p in passes]

    results = []
    # records of the loss checks, compared between the passes of a config
    records_dir = tempfile.TemporaryDirectory(prefix='mmtat_benchmark_')
    for index, (config, role, teacher_pass) in enumerate(jobs, 1):
        label = {'teacher': FLOOR_TEACHER, 'student': FLOOR_STUDENT}.get(
            role, 'method')
        if teacher_pass:
            label += f', {teacher_pass} teacher pass'
        print(f'[{index}/{len(jobs)}] {config}: {label}', flush=True)
        spec = dict(config=osp.abspath(config), role=role,
                    display=display_config(config),
                    iters=args.iters, warmup=args.warmup,
                    batch_size=args.batch_size, crop=list(args.crop),
                    device=args.device, amp=args.amp,
                    teacher_pass=teacher_pass)
        if teacher_pass:
            spec['records_path'] = osp.join(records_dir.name,
                                            f'{index}_{teacher_pass}.pt')
        result = _measure(spec)
        if role == 'teacher':
            result['method'] = FLOOR_TEACHER
        elif role == 'student':
            result['method'] = FLOOR_STUDENT
        results.append(result)
        print(f'    -> {result["method"]}: {result["iter_time_s"]:.3f} s/iter,'
              f' peak {result["peak_mem_mb"]:.0f} MB', flush=True)
    _compare_records(results, jobs, records_dir.name)
    records_dir.cleanup()
    return results


def _compare_records(results, jobs, records_dir: str) -> None:
    """``records_rel_error`` of each lean run: its loss check's records
    against those of the full pass of the same config."""
    paths: Dict[str, Dict[str, str]] = {}
    for index, (config, _, teacher_pass) in enumerate(jobs, 1):
        path = osp.join(records_dir, f'{index}_{teacher_pass}.pt')
        if teacher_pass and osp.isfile(path):
            paths.setdefault(config, {})[teacher_pass] = path
    for (config, _, teacher_pass), result in zip(jobs, results):
        saved = paths.get(config, {})
        if teacher_pass == 'lean' and 'full' in saved:
            result['records_rel_error'] = _records_relative_error(
                saved['lean'], saved['full'])


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
        '| method | dataset | config | teacher pass | s / iter (median) | '
        'vs. student only | teacher pass s / iter | distill losses s / iter '
        '| peak mem (MB) | distiller params |',
        '|---|---|---|---|---|---|---|---|---|---|'
    ]
    # each method against the floor of its own student
    student_times = {
        (r['dataset'], r.get('student')): r['iter_time_s']
        for r in results if r['role'] == 'student'
    }
    for r in results:
        base = student_times.get((r['dataset'], r.get('student')))
        ratio = (f'{r["iter_time_s"] / base:.2f}x'
                 if base and r['role'] == 'method' else '-')
        lines.append(
            f'| {r["method"]} | {r["dataset"]} | `{r["config"]}` | '
            f'{_pass_label(r)} | {r["iter_time_s"]:.3f} | {ratio} | '
            f'{fmt(r.get("teacher_pass_s"), ".3f")} | '
            f'{fmt(r["distill_time_s"], ".3f")} | '
            f'{r["peak_mem_mb"]:.0f} | {r["distill_params"]:,} |')
    lines += _pass_comparison(results)
    return '\n'.join(lines) + '\n'


def _pass_label(row: Dict[str, Any]) -> str:
    if row['role'] != 'method' or not row.get('teacher_pass_used'):
        return '-'
    return row['teacher_pass'] or row['teacher_pass_used'].split(':')[0]


def _pass_comparison(results) -> List[str]:
    """Lean against full teacher pass, for the configs measured with
    both (``--teacher-pass full lean``)."""
    rows = compare_teacher_passes(results)
    if not rows:
        return []
    lines = [
        '', 'Lean against full teacher pass (MMRazor\'s teacher(..., '
        "mode='loss') in the default memory layout); losses and the records "
        'they read, of one forward pass from the same weights and batch with '
        'dropout in eval mode (largest relative difference over the logged '
        'losses and over the teacher and student records):', '',
        '| method | dataset | config | s / iter full | lean | lean / full | '
        'teacher pass s full | lean | lean / full | peak mem (MB) full | '
        'lean | losses rel. diff. | records rel. diff. |',
        '|---|---|---|---|---|---|---|---|---|---|---|---|---|'
    ]
    for r in rows:
        lines.append(
            f'| {r["method"]} | {r["dataset"]} | `{r["config"]}` | '
            f'{r["iter_time_s"][0]:.3f} | {r["iter_time_s"][1]:.3f} | '
            f'{r["iter_ratio"]:.2f}x | {r["teacher_pass_s"][0]:.3f} | '
            f'{r["teacher_pass_s"][1]:.3f} | {r["teacher_pass_ratio"]:.2f}x '
            f'| {r["peak_mem_mb"][0]:.0f} | {r["peak_mem_mb"][1]:.0f} | '
            f'{fmt(r["losses_rel_diff"], ".1e")} | '
            f'{fmt(r["records_rel_diff"], ".1e")} |')
    return lines


def benchmark_plot(results, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    labels = [
        f'{r["method"]}\n{r["dataset"]}' +
        (f'\n{r["teacher_pass"]}' if r.get('teacher_pass') else '')
        for r in results
    ]
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
    parser.add_argument(
        '--teacher-pass', nargs='+', choices=sorted(TEACHER_PASSES),
        help='teacher pass of each distillation config, one measurement per '
        "pass: full (MMRazor's teacher(..., mode='loss'), default memory "
        'layout) and/or lean (LeanSingleTeacherDistill as the config sets '
        "it, with lean_teacher=True); default: the config's own. With both, "
        'the report compares them')
    parser.add_argument(
        '--no-floors', action='store_true',
        help='measure the configs only, not the teacher-forward and '
        'student-only floors of the distillation configs')
    parser.add_argument('--out', default='work_dirs/benchmark',
                        help='output directory')
    parser.add_argument('--collect', nargs='+', metavar='WORK_DIR',
                        help='read finished training runs instead')
    args = parser.parse_args(argv)
    if not args.collect and not args.configs:
        parser.error('give CONFIG(s) to measure or --collect WORK_DIR(s)')
    if args.iters < 1 or args.warmup < 0:
        parser.error('--iters must be >= 1 and --warmup >= 0')
    if not args.collect and args.batch_size < 2:
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
    from mmtat.compat import enable_config_caches
    from mmtat.tools._common import reported_errors
    enable_config_caches()
    with reported_errors():
        _run(args)


def _run(args) -> None:
    os.makedirs(args.out, exist_ok=True)
    if args.collect:
        print(write_accuracy_report(args.collect, args.out))
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
