# Copyright (c) mmtat contributors. All rights reserved.
"""GPU readiness check of mmtat, as one prepared command.

    python .dev_scripts/gpu_check.py --out work_dirs/gpu_check

A maintainers' script of the repository (not installed with mmtat): it
checks the checkout's mmtat, against the release reference of its tests.
Writes ``OUT/gpu_check.json`` (everything measured) and ``OUT/gpu_check.md``
(the tables and the bounds each check holds the software to). The checks,
in :data:`CHECKS` (a new one is a :class:`Check` appended there):

1. ``correctness``: :class:`~mmtat.models.TaTLoss` on the device against the
   release reference (``release_tat_loss`` of ``tests/release_reference.py``,
   which the unit tests hold the loss against) in float64 on the CPU: loss
   and gradients (student feature and embedding parameters) for the
   patch/anchor path and the large-attention path (SDPA's fused kernels on
   CUDA, the chunked kernel elsewhere), in float32 and under autocast
   float16 / bfloat16, each within a stated tolerance. The large case is
   one image of global TaT, the gradient layout of
   :mod:`mmtat.models.ops.contiguous_grad`.
2. ``loss_benchmark`` (``python .dev_scripts/benchmark_tat_loss.py``):
   TaTLoss against the release's image-by-image computation at R101->R18
   shapes and global TaT on the release's 129x129 decoder map (time and
   ``torch.cuda.max_memory_allocated``). Bound: TaTLoss's peak memory at
   129x129 at most a third of the release's.
3. ``method_benchmark`` (``python -m mmtat.tools.benchmark``): VOC configs
   at 512x512, batch 8, with and without ``--amp``, for student only, TaT,
   KD and CWD. Bound: a TaT iteration within 1.05x of CWD's with AMP.
4. ``teacher_pass`` (``python -m mmtat.tools.benchmark --teacher-pass full
   lean``): every VOC DeepLabV3 method at 512x512, batch 8, with and
   without ``--amp``, with MMRazor's teacher pass and with
   :class:`~mmtat.models.LeanSingleTeacherDistill`'s (iteration, teacher
   pass, peak memory; the floors are check 3's). Passed when the lean
   pass's losses and records match the full pass's within the precision's
   tolerance.

Without CUDA (``--device auto`` on a CPU machine) the checks that do not
need a GPU run on the CPU (correctness in float32 and bfloat16 autocast:
what a CPU user gets) and the others are reported as skipped. ``--device
cpu --quick`` runs every check on the CPU at toy sizes, to check the
command itself (its numbers mean nothing). The benchmarks run as
subprocesses of their own programs (a program does not import another).
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time
import warnings
from typing import Any, Callable, Dict, List, NamedTuple, Optional

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(HERE)
# The checkout's mmtat is the one checked (as ``python -m`` from the
# repository's root would import it; also from a ``git archive`` that is
# not installed), and the release reference is test code,
# tests/release_reference.py: tests/ is no package (and MMSegmentation and
# MMRazor install a ``tests`` package of their own, which would shadow
# ``tests.release_reference``), so tests/ itself goes on the path.
for _path in (ROOT, osp.join(ROOT, 'tests')):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import torch  # noqa: E402

from mmtat.tools._common import reported_errors, write_report  # noqa: E402
from mmtat.utils.errors import InputError  # noqa: E402

#: the programs the benchmarks run as subprocesses (``python ...``)
LOSS_BENCHMARK = [osp.join(HERE, 'benchmark_tat_loss.py')]
METHOD_BENCHMARK = ['-m', 'mmtat.tools.benchmark']

#: TaTLoss settings of the correctness cases: (B, Cs, Ct, H, W, kwargs)
CORRECTNESS = {
    # patch-group and anchor branches: batched matmul attention (8x8
    # patches, 4 per group, 4x4 anchor windows)
    'patches_and_anchors': (2, 32, 64, 32, 32, dict(
        patch_grid=(4, 4), num_heads=4, anchor_grid=(8, 8),
        patch_weight=1.0, anchor_weight=0.4)),
    # global TaT on 48x48 = 2304 positions: the large-attention path
    'large_attention': (1, 16, 32, 48, 48, dict(
        patch_grid=(1, 1), num_heads=1, anchor_weight=0.0)),
}
QUICK_CORRECTNESS = {
    'patches_and_anchors': (2, 8, 16, 16, 16, dict(
        patch_grid=(4, 4), num_heads=8, anchor_grid=(4, 4))),
    'large_attention': (1, 4, 8, 8, 8, dict(
        patch_grid=(1, 1), num_heads=1, anchor_weight=0.0)),
}
#: relative tolerances (loss, gradients) per precision.  float32 allows for
#: TF32 convolutions (cuDNN's default for the 1x1 embeddings on Ampere and
#: later); autocast runs the embeddings in 16 bits, the attention in float32.
TOLERANCE = {
    'fp32': (2e-3, 1e-2),
    'amp_fp16': (5e-2, 1e-1),
    'amp_bf16': (5e-2, 1e-1),
}
AUTOCAST = dict(fp32=None, amp_fp16=torch.float16, amp_bf16=torch.bfloat16)
TIME_BOUND = 1.05  # TaT iteration / CWD iteration, with AMP
MEMORY_BOUND = 1 / 3  # TaTLoss peak / release peak, global 129x129
METHOD_CONFIGS = [
    'tat/deeplabv3_r101_r18_voc.py',
    'baselines/kd_deeplabv3_r101_r18_voc.py',
    'baselines/cwd_deeplabv3_r101_r18_voc.py',
]
TEACHER_PASS_CONFIGS = METHOD_CONFIGS + [
    'baselines/fitnets_deeplabv3_r101_r18_voc.py',
    'baselines/at_deeplabv3_r101_r18_voc.py',
    'baselines/mgd_deeplabv3_r101_r18_voc.py',
    'baselines/dist_deeplabv3_r101_r18_voc.py',
]
#: largest relative difference of the lean pass's losses and records from
#: the full pass's: channels-last convolutions round differently (TF32 on
#: Ampere and later), and in float16 more so
TEACHER_PASS_TOLERANCE = dict(fp32=2e-3, amp=5e-2)


class Context(NamedTuple):
    """What every check is given."""
    device: str  # 'cuda' or 'cpu'
    quick: bool
    out_dir: str


class Check(NamedTuple):
    """One part of the report.

    Attributes:
        name: key in the JSON report and of ``--skip``.
        title: heading in the markdown report.
        needs_gpu: skipped without CUDA unless ``--device cpu`` is given.
        run: ``run(context) -> dict``; ``passed: False`` in the result makes
            the command exit 1.
        markdown: ``markdown(result) -> lines`` of the report's section.
        summary: ``summary(result) -> lines`` of the summary.
    """
    name: str
    title: str
    needs_gpu: bool
    run: Callable[[Context], Dict[str, Any]]
    markdown: Callable[[Dict[str, Any]], List[str]]
    summary: Callable[[Dict[str, Any]], List[str]]


def log(message: str) -> None:
    print(f'[gpu_check {time.strftime("%H:%M:%S")}] {message}',
          file=sys.stderr, flush=True)


def _verdict(met: Optional[bool]) -> str:
    return {True: 'within', False: 'NOT within', None: 'not measured'}[met]


# --------------------------------------------------------------------------
# 1. correctness
# --------------------------------------------------------------------------
def _relative(got: torch.Tensor, want: torch.Tensor) -> float:
    got, want = got.detach().double().cpu(), want.detach().double().cpu()
    return float((got - want).norm() / want.norm().clamp(min=1e-30))


def _reference(loss: torch.nn.Module, s: torch.Tensor, t: torch.Tensor):
    """Loss and gradients of the release reference in float64 on the CPU."""
    from release_reference import (
        functional_embeddings,
        release_arguments,
        release_tat_loss,
    )
    embeddings = functional_embeddings(loss)
    s = s.clone().requires_grad_()
    value = release_tat_loss(s, t, embeddings[:3], **release_arguments(loss))
    grads = torch.autograd.grad(value,
                                [s] + list(embeddings.parameters.values()))
    return value, list(grads)


def _on_device(loss: torch.nn.Module, s: torch.Tensor, t: torch.Tensor,
               autocast: Optional[torch.dtype]):
    s = s.clone().requires_grad_()
    loss.zero_grad(set_to_none=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        if autocast is None:
            value = loss(s, t)
        else:
            with torch.autocast(device_type=s.device.type, dtype=autocast):
                value = loss(s, t)
        value.backward()
    notes = sorted({str(w.message) for w in caught
                    if 'TaTLoss' in str(w.message)})
    return value, [s.grad] + [p.grad for p in loss.parameters()], notes


def _attention_path(loss: Any, b: int, h: int, w: int, device: str) -> str:
    """The attention kernel the loss uses for this case on ``device``."""
    from mmtat.models.ops import plan_large_attention
    geometry = loss.geometry(h, w)
    if not loss.uses_large_attention(geometry):
        return 'matmul'
    length = max(size[0] * size[1]
                 for size in (geometry.patch_size, geometry.anchor_counts)
                 if size is not None)
    probe = torch.zeros(b, 1, loss.teacher_channels, length, device=device)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # the rows record the loss's own
        plan, _ = plan_large_attention(probe, probe, probe)
    return plan.kernel if plan.fallback is None else 'chunked (fallback)'


def check_correctness(ctx: Context) -> Dict[str, Any]:
    from mmtat.models import TaTLoss
    cases = QUICK_CORRECTNESS if ctx.quick else CORRECTNESS
    precisions = ['fp32', 'amp_bf16'] if ctx.device == 'cpu' else [
        'fp32', 'amp_fp16', 'amp_bf16'
    ]
    rows = []
    for name, (b, cs, ct, h, w, kwargs) in cases.items():
        torch.manual_seed(0)
        reference = TaTLoss(cs, ct, **kwargs).double().train()
        with torch.no_grad():
            for embed in (reference.query_embed, reference.key_embed,
                          reference.value_embed):
                if isinstance(embed, torch.nn.Sequential):
                    embed[1].weight.uniform_(0.2, 0.6)
                    embed[1].bias.uniform_(-0.5, 0.5)
        generator = torch.Generator().manual_seed(1)
        s = torch.randn(b, cs, h, w, generator=generator, dtype=torch.float64)
        t = torch.randn(b, ct, h, w, generator=generator, dtype=torch.float64)
        want_loss, want_grads = _reference(reference, s, t)
        path = _attention_path(reference, b, h, w, ctx.device)
        for precision in precisions:
            mod = TaTLoss(cs, ct, **kwargs).to(ctx.device).train()
            mod.load_state_dict({
                k: v.float() if v.is_floating_point() else v
                for k, v in reference.state_dict().items()
            })
            got_loss, got_grads, notes = _on_device(
                mod, s.float().to(ctx.device), t.float().to(ctx.device),
                AUTOCAST[precision])
            loss_err = _relative(got_loss, want_loss)
            # the student feature's gradient, and all parameters' at once
            # (the key BN bias has a zero gradient by construction: the
            # softmax ignores a shift of a whole row)
            flat = [torch.cat([g.detach().double().cpu().flatten()
                               for g in grads[1:]])
                    for grads in (got_grads, want_grads)]
            grad_err = max(_relative(got_grads[0], want_grads[0]),
                           _relative(*flat))
            loss_tol, grad_tol = TOLERANCE[precision]
            rows.append(
                dict(
                    case=name,
                    shapes=f'B={b}, {cs}->{ct} ch, {h}x{w}',
                    attention=path,
                    precision=precision,
                    loss=float(got_loss.detach()),
                    loss_reference=float(want_loss.detach()),
                    loss_rel_error=loss_err,
                    grad_rel_error=grad_err,
                    finite=bool(torch.isfinite(got_loss)) and all(
                        bool(torch.isfinite(g).all()) for g in got_grads),
                    tolerance=[loss_tol, grad_tol],
                    warnings=notes,
                    passed=(loss_err <= loss_tol and grad_err <= grad_tol)))
            log(f'correctness {name} {precision} ({path}): loss '
                f'{loss_err:.1e}, grads {grad_err:.1e}')
    failed = [r for r in rows if not r['passed']]
    return dict(rows=rows, passed=not failed)


def correctness_markdown(result: Dict[str, Any]) -> List[str]:
    lines = [
        '| case | shapes | attention | precision | loss rel. error | '
        'grad rel. error | tolerance (loss, grad) | passed |',
        '|---|---|---|---|---|---|---|---|'
    ]
    for r in result['rows']:
        lines.append(
            f"| {r['case']} | {r['shapes']} | {r['attention']} | "
            f"{r['precision']} | {r['loss_rel_error']:.1e} | "
            f"{r['grad_rel_error']:.1e} | {r['tolerance'][0]:g}, "
            f"{r['tolerance'][1]:g} | {'yes' if r['passed'] else 'NO'} |")
    notes = sorted({n for r in result['rows'] for n in r['warnings']})
    if notes:
        lines += ['', 'Warnings of the loss:', ''] + [f'- {n}' for n in notes]
    return lines


def correctness_summary(result: Dict[str, Any]) -> List[str]:
    rows = result['rows']
    failed = [f"{r['case']}/{r['precision']}" for r in rows
              if not r['passed']]
    line = f'correctness: {len(rows) - len(failed)}/{len(rows)} within ' \
        'tolerance'
    return [line + (f" (failed: {', '.join(failed)})" if failed else '')]


# --------------------------------------------------------------------------
# 2. loss benchmark, 3. method benchmark (subprocesses of their programs)
# --------------------------------------------------------------------------
def _tool(program: List[str], args: List[str]) -> None:
    command = [sys.executable] + program + args
    log(' '.join(command[1:]))
    proc = subprocess.run(command)
    if proc.returncode != 0:
        raise RuntimeError(f'{" ".join(command[1:])} failed with exit code '
                           f'{proc.returncode}')


def loss_benchmark(ctx: Context) -> Dict[str, Any]:
    # quick: the command and its report at one toy case, the memory one
    cases = ['global_tiny'] if ctx.quick else ['r101_r18', 'global_129']
    global_case = cases[-1]
    path = osp.join(ctx.out_dir, 'tat_loss_benchmark.json')
    _tool(LOSS_BENCHMARK, [
        '--device', ctx.device, '--cases', *cases, '--repeat',
        '1' if ctx.quick else '5', '--warmup', '0' if ctx.quick else '2',
        '--impls', 'release_loop', 'tat_per_image', '--out', path
    ])
    with open(path) as f:
        report = json.load(f)
    rows = report['rows']
    by = {(r['case'], r['impl']): r for r in rows}
    release = by[(global_case, 'release_loop')]['peak_rise_bytes']
    ours = by[(global_case, 'tat_per_image')]['peak_rise_bytes']
    ratio = ours / max(release, 1)
    return dict(
        file=osp.relpath(path, ctx.out_dir),
        machine=report['machine'],
        rows=rows,
        memory_case=global_case,
        memory_ratio=ratio,
        memory_bound=MEMORY_BOUND,
        memory_within_bound=ratio <= MEMORY_BOUND)


def loss_benchmark_markdown(result: Dict[str, Any]) -> List[str]:
    lines = ['| case | implementation | ms fwd+bwd | peak MiB |',
             '|---|---|---|---|']
    for r in result['rows']:
        lines.append(f"| {r['case']} | {r['impl']} | {r['median_ms']:.1f} | "
                     f"{r['peak_rise_bytes'] / 2**20:.1f} |")
    return lines + [
        '', f"Peak memory of TaTLoss / release at {result['memory_case']}: "
        f"{result['memory_ratio']:.3f} (bound <= 1/3: "
        f"{_verdict(result['memory_within_bound'])})."
    ]


def loss_benchmark_summary(result: Dict[str, Any]) -> List[str]:
    return [f"memory bound (TaTLoss <= 1/3 of the release at "
            f"{result['memory_case']}): "
            f"{_verdict(result['memory_within_bound'])} "
            f"({result['memory_ratio']:.3f})"]


def _benchmark_size(quick: bool) -> List[str]:
    if quick:
        return ['--crop', '128', '128', '--batch-size', '2', '--iters', '1',
                '--warmup', '0']
    return ['--crop', '512', '512', '--batch-size', '8', '--iters', '10',
            '--warmup', '3']


def method_benchmark(ctx: Context) -> Dict[str, Any]:
    from mmtat.utils import config_file
    size = _benchmark_size(ctx.quick)
    configs = [config_file(name) for name in METHOD_CONFIGS]
    runs: Dict[str, Any] = {}
    for mode in ('fp32', 'amp'):
        if mode == 'amp' and ctx.device != 'cuda':
            runs[mode] = dict(skipped='AMP training needs CUDA (mmengine '
                              'AmpOptimWrapper)')
            continue
        run_dir = osp.join(ctx.out_dir, f'benchmark_{mode}')
        _tool(METHOD_BENCHMARK,
              [*configs, '--device', ctx.device, *size, '--out', run_dir] +
              (['--amp'] if mode == 'amp' else []))
        with open(osp.join(run_dir, 'benchmark.json')) as f:
            runs[mode] = json.load(f)
    result: Dict[str, Any] = dict(runs=runs, time_bound=TIME_BOUND)
    amp = runs['amp']
    if 'results' in amp:
        times = {r['method']: r['iter_time_s'] for r in amp['results']}
        ratio = times['TaT'] / times['CWD']
        result.update(time_ratio=ratio, time_within_bound=ratio <= TIME_BOUND)
    return result


def method_benchmark_markdown(result: Dict[str, Any]) -> List[str]:
    lines: List[str] = []
    for mode, run in result['runs'].items():
        lines += [f'### {mode}', '']
        if 'skipped' in run:
            lines += [f"Skipped: {run['skipped']}", '']
            continue
        lines += ['| method | s / iter (median) | peak MiB | distill losses '
                  's / iter |', '|---|---|---|---|']
        for r in run['results']:
            distill = r.get('distill_time_s')
            lines.append(
                f"| {r['method']} | {r['iter_time_s']:.3f} | "
                f"{r['peak_mem_mb']:.0f} | "
                f"{'-' if distill is None else format(distill, '.3f')} |")
        lines.append('')
    if 'time_ratio' in result:
        lines.append(f"TaT / CWD iteration time with AMP: "
                     f"{result['time_ratio']:.3f} (bound <= {TIME_BOUND}: "
                     f"{_verdict(result['time_within_bound'])}).")
    return lines


def method_benchmark_summary(result: Dict[str, Any]) -> List[str]:
    if 'time_within_bound' not in result:
        return []
    return [f"time bound (TaT <= {TIME_BOUND}x CWD with AMP): "
            f"{_verdict(result['time_within_bound'])} "
            f"({result['time_ratio']:.3f})"]


def teacher_pass_check(ctx: Context) -> Dict[str, Any]:
    from mmtat.checks.results import compare_teacher_passes
    from mmtat.utils import config_file

    # quick: one config, to check the command
    names = TEACHER_PASS_CONFIGS[1:2] if ctx.quick else TEACHER_PASS_CONFIGS
    configs = [config_file(name) for name in names]
    runs: Dict[str, Any] = {}
    for mode in ('fp32', 'amp'):
        if mode == 'amp' and ctx.device != 'cuda':
            runs[mode] = dict(skipped='AMP training needs CUDA (mmengine '
                              'AmpOptimWrapper)')
            continue
        run_dir = osp.join(ctx.out_dir, f'teacher_pass_{mode}')
        _tool(METHOD_BENCHMARK,
              [*configs, '--teacher-pass', 'full', 'lean', '--no-floors',
               '--device', ctx.device, *_benchmark_size(ctx.quick), '--out',
               run_dir] +
              (['--amp'] if mode == 'amp' else []))
        with open(osp.join(run_dir, 'benchmark.json')) as f:
            report = json.load(f)
        rows = compare_teacher_passes(report['results'])
        tolerance = TEACHER_PASS_TOLERANCE[mode]
        for row in rows:
            diffs = [d for d in (row['losses_rel_diff'],
                                 row['records_rel_diff']) if d is not None]
            row['passed'] = bool(diffs) and max(diffs) <= tolerance
        runs[mode] = dict(file=osp.relpath(osp.join(run_dir,
                                                    'benchmark.json'),
                                           ctx.out_dir),
                          tolerance=tolerance, rows=rows)
    measured = [r for run in runs.values() for r in run.get('rows', [])]
    return dict(runs=runs,
                passed=bool(measured) and all(r['passed'] for r in measured))


def teacher_pass_markdown(result: Dict[str, Any]) -> List[str]:
    lines: List[str] = []
    for mode, run in result['runs'].items():
        lines += [f'### {mode}', '']
        if 'skipped' in run:
            lines += [f"Skipped: {run['skipped']}", '']
            continue
        lines += [
            '| method | s / iter full | lean | lean / full | teacher pass s '
            'full | lean | lean / full | peak MiB full | lean | losses, '
            'records rel. diff. | passed |', '|---|---|---|---|---|---|---|'
            '---|---|---|---|'
        ]
        for r in run['rows']:
            lines.append(
                f"| {r['method']} | {r['iter_time_s'][0]:.3f} | "
                f"{r['iter_time_s'][1]:.3f} | {r['iter_ratio']:.2f}x | "
                f"{r['teacher_pass_s'][0]:.3f} | {r['teacher_pass_s'][1]:.3f}"
                f" | {r['teacher_pass_ratio']:.2f}x | "
                f"{r['peak_mem_mb'][0]:.0f} | {r['peak_mem_mb'][1]:.0f} | "
                f"{_fmt(r['losses_rel_diff'])}, "
                f"{_fmt(r['records_rel_diff'])} | "
                f"{'yes' if r['passed'] else 'NO'} |")
        lines += ['', f"Tolerance: {run['tolerance']:g}; raw output: "
                  f"`{run['file']}`.", '']
    return lines


def _fmt(value: Optional[float]) -> str:
    return '-' if value is None else f'{value:.1e}'


def teacher_pass_summary(result: Dict[str, Any]) -> List[str]:
    lines = []
    for mode, run in result['runs'].items():
        if 'rows' not in run:
            continue
        ratios = ', '.join(f"{r['method']} {r['iter_ratio']:.2f}x"
                           for r in run['rows'])
        failed = [r['method'] for r in run['rows'] if not r['passed']]
        lines.append(
            f'teacher pass ({mode}), lean / full iteration: {ratios}; losses '
            'and records ' + (f"differ beyond {run['tolerance']:g} for "
                              f"{', '.join(failed)}" if failed else
                              f"within {run['tolerance']:g}"))
    return lines


#: The checks, in report order.
CHECKS: List[Check] = [
    Check('correctness', 'TaTLoss against the release reference (CPU, '
          'float64)', False, check_correctness, correctness_markdown,
          correctness_summary),
    Check('loss_benchmark', 'TaTLoss against the release computation', True,
          loss_benchmark, loss_benchmark_markdown, loss_benchmark_summary),
    Check('method_benchmark', 'One training iteration per method', True,
          method_benchmark, method_benchmark_markdown,
          method_benchmark_summary),
    Check('teacher_pass', "The lean teacher pass against MMRazor's", True,
          teacher_pass_check, teacher_pass_markdown, teacher_pass_summary),
]


# --------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------
def markdown(report: Dict[str, Any]) -> str:
    env = report['environment']
    where = env.get('gpu', f"CPU ({env['cpu']}, {env['cpu_count']} cores)")
    lines = [
        '# mmtat GPU check', '',
        f"{env['date']}, device `{env['device']}`: {where}, torch "
        f"{env['torch']}" + (f", CUDA {env['cuda']}" if 'cuda' in env else
                             '') + (' (quick: toy sizes, numbers mean '
                                    'nothing)' if report['quick'] else '') +
        '.'
    ]
    for number, check in enumerate(CHECKS, 1):
        result = report[check.name]
        lines += ['', f'## {number}. {check.title}', '']
        if 'skipped' in result:
            lines.append(f"Skipped: {result['skipped']}")
        else:
            lines += check.markdown(result)
    lines += ['', '## Summary', '']
    lines += [f'- {item}' for item in report['summary']]
    return '\n'.join(lines) + '\n'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='GPU readiness check of mmtat (see the module doc).')
    parser.add_argument('--out', required=True, help='output directory')
    parser.add_argument(
        '--device', choices=['auto', 'cuda', 'cpu'], default='auto',
        help='auto: CUDA when available, else the CPU checks only')
    parser.add_argument(
        '--quick', action='store_true',
        help='toy sizes: checks the command, not the hardware')
    parser.add_argument(
        '--skip', nargs='*', default=[],
        choices=[check.name for check in CHECKS], help='checks not to run')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    with reported_errors():
        if args.device == 'cuda' and not torch.cuda.is_available():
            raise InputError('--device cuda, but torch.cuda.is_available() '
                             'is False on this machine.')
    import mmtat  # noqa: F401  (compat fixes before MMRazor)
    from mmtat.utils.machine import machine_info
    device = args.device
    if device == 'auto':
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    # the GPU checks run on a GPU, or on the CPU only when asked for
    run_gpu_checks = device == 'cuda' or args.device == 'cpu'
    os.makedirs(args.out, exist_ok=True)
    ctx = Context(device, args.quick, args.out)
    start = time.time()
    report: Dict[str, Any] = dict(
        environment=machine_info(device), quick=args.quick, summary=[])
    for check in CHECKS:
        if check.name in args.skip:
            result: Dict[str, Any] = dict(skipped='--skip')
        elif check.needs_gpu and not run_gpu_checks:
            result = dict(skipped='no CUDA device on this machine (GPU '
                          'check)')
        else:
            result = check.run(ctx)
        report[check.name] = result
        if 'skipped' in result:
            report['summary'].append(
                f"{check.name}: skipped ({result['skipped']})")
        else:
            report['summary'] += check.summary(result)
    report['wall_s'] = time.time() - start
    text = markdown(report)
    write_report(args.out, 'gpu_check', report, text)
    print(text)
    failed = [c.name for c in CHECKS if report[c.name].get('passed') is False]
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
