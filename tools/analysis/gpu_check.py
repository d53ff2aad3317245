# Copyright (c) mmtat contributors. All rights reserved.
"""GPU readiness check of mmtat, as one prepared script.

    python tools/analysis/gpu_check.py --out work_dirs/gpu_check

Writes ``OUT/gpu_check.json`` (everything measured) and
``OUT/gpu_check.md`` (the tables and the goals):

1. **Correctness** of :class:`~mmtat.models.TaTLoss` on the device against
   the same module in float64 on the CPU (the reference the unit tests hold
   against an independent loop implementation): loss and gradients
   (student feature and embedding parameters) for the patch/anchor path and
   the large-attention path (SDPA on CUDA, the chunked kernel elsewhere), in
   float32 and under autocast float16 / bfloat16, each within a stated
   tolerance.
2. **Loss benchmark** (``tools/analysis/benchmark_tat_loss.py``): TaTLoss
   against the release's image-by-image computation at R101->R18 shapes and
   global TaT on the release's 129x129 decoder map (time and
   ``torch.cuda.max_memory_allocated``). Goal: TaTLoss's peak memory at
   129x129 at most a third of the release's.
3. **Method benchmark** (``tools/benchmark.py``): VOC configs at 512x512,
   batch 8, with and without ``--amp``, for student only, TaT, KD and CWD.
   Goal: a TaT iteration within 1.05x of CWD's with AMP.

Without CUDA (``--device auto`` on a CPU machine) part 1 runs on the CPU
(float32 and bfloat16 autocast; what a CPU user gets) and parts 2-3 are
reported as skipped. ``--device cpu --quick`` runs every part on the CPU at
toy sizes, to check the script itself (its numbers mean nothing).
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional

import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)  # run from a checkout without installing mmtat

import mmtat  # noqa: E402,F401  (compat fixes before MMRazor)
from mmtat.models import TaTLoss  # noqa: E402
from mmtat.models.ops import large_attention_impl  # noqa: E402
from mmtat.utils.machine import machine_info  # noqa: E402

#: TaTLoss settings of the correctness cases: (B, Cs, Ct, H, W, kwargs)
CORRECTNESS = {
    # patch-group and anchor branches: batched matmul attention
    'patches_and_anchors': (2, 32, 64, 32, 32, dict(
        patch_size=(8, 8), patches_per_group=4, anchor_window=(4, 4),
        patch_weight=1.0, anchor_weight=0.4)),
    # global TaT on 48x48 = 2304 positions: the large-attention path
    'large_attention': (1, 16, 32, 48, 48, dict(
        patch_grid=(1, 1), num_heads=1, anchor_weight=0.0)),
}
QUICK_CORRECTNESS = {
    'patches_and_anchors': (2, 8, 16, 16, 16, dict(
        patch_size=(4, 4), patches_per_group=2, anchor_window=(4, 4))),
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
TIME_GOAL = 1.05  # TaT iteration / CWD iteration, with AMP
MEMORY_GOAL = 1 / 3  # TaTLoss peak / release peak, global 129x129
METHOD_CONFIGS = [
    'configs/tat/deeplabv3_r101_r18_voc.py',
    'configs/baselines/kd_deeplabv3_r101_r18_voc.py',
    'configs/baselines/cwd_deeplabv3_r101_r18_voc.py',
]


def log(message: str) -> None:
    print(f'[gpu_check {time.strftime("%H:%M:%S")}] {message}',
          file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# 1. correctness
# --------------------------------------------------------------------------
def _relative(got: torch.Tensor, want: torch.Tensor) -> float:
    got, want = got.detach().double().cpu(), want.detach().double().cpu()
    return float((got - want).norm() / want.norm().clamp(min=1e-30))


def _run_loss(mod: TaTLoss, s: torch.Tensor, t: torch.Tensor,
              autocast: Optional[torch.dtype]):
    s = s.clone().requires_grad_()
    mod.zero_grad(set_to_none=True)
    if autocast is None:
        loss = mod(s, t)
    else:
        with torch.autocast(device_type=s.device.type, dtype=autocast):
            loss = mod(s, t)
    loss.backward()
    grads = [s.grad] + [p.grad for p in mod.parameters()]
    return loss, grads


def check_correctness(device: str, quick: bool) -> List[Dict[str, Any]]:
    cases = QUICK_CORRECTNESS if quick else CORRECTNESS
    precisions = ['fp32', 'amp_bf16'] if device == 'cpu' else [
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
        want_loss, want_grads = _run_loss(reference, s, t, None)
        geometry = reference.geometry(h, w)
        large = reference._uses_large_attention(geometry)
        path = (large_attention_impl(torch.device(device))
                if large else 'matmul')
        for precision in precisions:
            mod = TaTLoss(cs, ct, **kwargs).to(device).train()
            mod.load_state_dict({
                k: v.float()
                if v.is_floating_point() else v
                for k, v in reference.state_dict().items()
            })
            autocast = dict(fp32=None, amp_fp16=torch.float16,
                            amp_bf16=torch.bfloat16)[precision]
            got_loss, got_grads = _run_loss(
                mod, s.float().to(device), t.float().to(device), autocast)
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
                    loss=float(got_loss),
                    loss_reference=float(want_loss),
                    loss_rel_error=loss_err,
                    grad_rel_error=grad_err,
                    finite=bool(torch.isfinite(got_loss)) and all(
                        bool(torch.isfinite(g).all()) for g in got_grads),
                    tolerance=[loss_tol, grad_tol],
                    passed=(loss_err <= loss_tol and grad_err <= grad_tol)))
            log(f'correctness {name} {precision} ({path}): loss '
                f'{loss_err:.1e}, grads {grad_err:.1e}')
    return rows


# --------------------------------------------------------------------------
# 2. loss benchmark, 3. method benchmark (subprocesses of the repo's tools)
# --------------------------------------------------------------------------
def _tool(args: List[str]) -> None:
    log(' '.join(args))
    proc = subprocess.run([sys.executable] + args, cwd=REPO)
    if proc.returncode != 0:
        raise RuntimeError(f'{" ".join(args)} failed with exit code '
                           f'{proc.returncode}')


def loss_benchmark(device: str, quick: bool, out_dir: str) -> Dict[str, Any]:
    cases = ['tiny_patches', 'global_tiny'] if quick else [
        'r101_r18', 'global_129'
    ]
    global_case = cases[1]
    path = osp.join(out_dir, 'tat_loss_benchmark.json')
    _tool([
        'tools/analysis/benchmark_tat_loss.py', '--device', device,
        '--cases', *cases, '--repeat', '1' if quick else '5', '--warmup',
        '0' if quick else '2', '--out', path
    ])
    with open(path) as f:
        report = json.load(f)
    rows = report['rows']
    by = {(r['case'], r['impl']): r for r in rows}
    release = by[(global_case, 'release_loop')]['peak_rise_bytes']
    ours = by[(global_case, 'tat_per_image')]['peak_rise_bytes']
    ratio = ours / max(release, 1)
    return dict(
        file=osp.relpath(path, out_dir),
        machine=report['machine'],
        rows=rows,
        memory_case=global_case,
        memory_ratio=ratio,
        memory_goal=MEMORY_GOAL,
        memory_goal_met=ratio <= MEMORY_GOAL)


def method_benchmark(device: str, quick: bool,
                     out_dir: str) -> Dict[str, Any]:
    size = ['--crop', '128', '128', '--batch-size', '2', '--iters', '1',
            '--warmup', '0'] if quick else [
                '--crop', '512', '512', '--batch-size', '8', '--iters', '10',
                '--warmup', '3']
    configs = METHOD_CONFIGS
    runs: Dict[str, Any] = {}
    for mode in ('fp32', 'amp'):
        if mode == 'amp' and device != 'cuda':
            runs[mode] = dict(skipped='AMP training needs CUDA (mmengine '
                              'AmpOptimWrapper)')
            continue
        run_dir = osp.join(out_dir, f'benchmark_{mode}')
        _tool(['tools/benchmark.py', *configs, '--device', device, *size,
               '--out', run_dir] + (['--amp'] if mode == 'amp' else []))
        with open(osp.join(run_dir, 'benchmark.json')) as f:
            runs[mode] = json.load(f)
    result: Dict[str, Any] = dict(runs=runs, time_goal=TIME_GOAL)
    amp = runs['amp']
    if 'results' in amp:
        times = {r['method']: r['iter_time_s'] for r in amp['results']}
        ratio = times['TaT'] / times['CWD']
        result.update(time_ratio=ratio, time_goal_met=ratio <= TIME_GOAL)
    return result


# --------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------
def _goal(met: Optional[bool]) -> str:
    return {True: 'met', False: 'NOT met', None: 'not measured'}[met]


def markdown(report: Dict[str, Any]) -> str:
    env = report['environment']
    where = env.get('gpu', f"CPU ({env['cpu']}, {env['cpu_count']} cores)")
    lines = [
        '# mmtat GPU check', '',
        f"{env['date']}, device `{env['device']}`: {where}, torch "
        f"{env['torch']}" + (f", CUDA {env['cuda']}" if 'cuda' in env else
                             '') + (' (quick: toy sizes, numbers mean '
                                    'nothing)' if report['quick'] else '') +
        '.', '', '## 1. TaTLoss against the CPU float64 result', '',
        '| case | shapes | attention | precision | loss rel. error | '
        'grad rel. error | tolerance (loss, grad) | passed |',
        '|---|---|---|---|---|---|---|---|'
    ]
    for r in report['correctness']:
        lines.append(
            f"| {r['case']} | {r['shapes']} | {r['attention']} | "
            f"{r['precision']} | {r['loss_rel_error']:.1e} | "
            f"{r['grad_rel_error']:.1e} | {r['tolerance'][0]:g}, "
            f"{r['tolerance'][1]:g} | {'yes' if r['passed'] else 'NO'} |")
    lines += ['', '## 2. TaTLoss against the release computation', '']
    loss = report['loss_benchmark']
    if 'skipped' in loss:
        lines.append(f"Skipped: {loss['skipped']}")
    else:
        lines += [
            '| case | implementation | ms fwd+bwd | peak MiB |',
            '|---|---|---|---|'
        ]
        for r in loss['rows']:
            lines.append(f"| {r['case']} | {r['impl']} | "
                         f"{r['median_ms']:.1f} | "
                         f"{r['peak_rise_bytes'] / 2**20:.1f} |")
        lines += [
            '', f"Peak memory of TaTLoss / release at {loss['memory_case']}:"
            f" {loss['memory_ratio']:.3f} (goal <= 1/3: "
            f"{_goal(loss['memory_goal_met'])})."
        ]
    lines += ['', '## 3. One training iteration per method', '']
    method = report['method_benchmark']
    if 'skipped' in method:
        lines.append(f"Skipped: {method['skipped']}")
    else:
        for mode, run in method['runs'].items():
            lines.append(f'### {mode}')
            lines.append('')
            if 'skipped' in run:
                lines += [f"Skipped: {run['skipped']}", '']
                continue
            lines += [
                '| method | s / iter (median) | peak MiB | distill losses '
                's / iter |', '|---|---|---|---|'
            ]
            for r in run['results']:
                distill = r.get('distill_time_s')
                lines.append(
                    f"| {r['method']} | {r['iter_time_s']:.3f} | "
                    f"{r['peak_mem_mb']:.0f} | "
                    f"{'-' if distill is None else format(distill, '.3f')} |")
            lines.append('')
        if 'time_ratio' in method:
            lines.append(f"TaT / CWD iteration time with AMP: "
                         f"{method['time_ratio']:.3f} (goal <= "
                         f"{TIME_GOAL}: {_goal(method['time_goal_met'])}).")
    lines += ['', '## Summary', '']
    for item in report['summary']:
        lines.append(f'- {item}')
    return '\n'.join(lines) + '\n'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='GPU readiness check of mmtat (see the module doc).')
    parser.add_argument('--out', required=True, help='output directory')
    parser.add_argument(
        '--device', choices=['auto', 'cuda', 'cpu'], default='auto',
        help='auto: CUDA when available, else the CPU parts only')
    parser.add_argument(
        '--quick', action='store_true',
        help='toy sizes: checks the script, not the hardware')
    parser.add_argument(
        '--skip', nargs='*', default=[],
        choices=['correctness', 'loss_benchmark', 'method_benchmark'],
        help='parts not to run')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('ERROR: --device cuda, but torch.cuda.is_available() '
                         'is False on this machine.')
    device = args.device
    if device == 'auto':
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    # the GPU parts run on a GPU, or on the CPU only when asked for
    run_gpu_parts = device == 'cuda' or args.device == 'cpu'
    os.makedirs(args.out, exist_ok=True)
    start = time.time()
    report: Dict[str, Any] = dict(
        environment=machine_info(device), quick=args.quick, summary=[])
    skipped = 'no CUDA device on this machine (GPU part)'
    if 'correctness' in args.skip:
        report['correctness'] = []
    else:
        report['correctness'] = check_correctness(device, args.quick)
    failed = [r for r in report['correctness'] if not r['passed']]
    report['summary'].append(
        f"correctness on {device}: {len(report['correctness']) - len(failed)}"
        f"/{len(report['correctness'])} within tolerance" +
        (f" (failed: {', '.join(r['case'] + '/' + r['precision'] for r in failed)})"  # noqa: E501
         if failed else ''))
    for part, fn in (('loss_benchmark', loss_benchmark),
                     ('method_benchmark', method_benchmark)):
        if part in args.skip:
            report[part] = dict(skipped='--skip')
        elif not run_gpu_parts:
            report[part] = dict(skipped=skipped)
        else:
            report[part] = fn(device, args.quick, args.out)
        if 'skipped' in report[part]:
            report['summary'].append(
                f"{part}: skipped ({report[part]['skipped']})")
    loss = report['loss_benchmark']
    if 'memory_goal_met' in loss:
        report['summary'].append(
            f"memory goal (TaTLoss <= 1/3 of the release at "
            f"{loss['memory_case']}): {_goal(loss['memory_goal_met'])} "
            f"({loss['memory_ratio']:.3f})")
    method = report['method_benchmark']
    if 'time_goal_met' in method:
        report['summary'].append(
            f"time goal (TaT <= {TIME_GOAL}x CWD with AMP): "
            f"{_goal(method['time_goal_met'])} ({method['time_ratio']:.3f})")
    report['wall_s'] = time.time() - start
    with open(osp.join(args.out, 'gpu_check.json'), 'w') as f:
        json.dump(report, f, indent=2)
    text = markdown(report)
    with open(osp.join(args.out, 'gpu_check.md'), 'w') as f:
        f.write(text)
    print(text)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
