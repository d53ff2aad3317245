# Copyright (c) mmtat contributors. All rights reserved.
"""Benchmark :class:`mmtat.models.TaTLoss` against the release's
image-by-image computation.

The release's computation is ``release_tat_loss`` of the tests'
``tests/release_reference.py`` (the reference the unit tests hold the loss
against): a Python loop over the images of the batch, the three
embeddings called on a batch of one (so BatchNorm uses each image's own
statistics), patches cut with ``unfold`` and stacked patch-major, heads
over consecutive stacked channels, explicit ``softmax(q k^T)`` (the full
``L x L`` attention is materialised) and average-pooled anchors. Here it
runs with the loss's own embedding modules, as the release does, so both
losses must agree; the table prints the relative difference of the loss
and of the student gradient.

Diagnostic rows switch one memory/speed option of
:class:`~mmtat.models.TaTLoss` off (``tat_no_cpu_steps``,
``tat_no_logit_floor``) or force SDPA (``tat_sdpa``), so what each option
buys is measured here.

Each (case, implementation) runs in a fresh subprocess so that peak-memory
readings do not leak between them:

* CPU: rise of the process's peak RSS (``resource.getrusage(...).ru_maxrss``)
  over one forward+backward, read after a small warm-up at a reduced size
  (which loads kernels without raising the high-water mark much);
* CUDA: ``torch.cuda.max_memory_allocated()`` minus the allocated memory
  before the forward+backward.

Example::

    python .dev_scripts/benchmark_tat_loss.py --device cpu --repeat 5 \
        --out work_dirs/tat_benchmark.json

A maintainers' script of the repository (not installed with mmtat).
"""
import argparse
import json
import os
import os.path as osp
import resource
import statistics
import subprocess
import sys
import time
import weakref
from typing import Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# The checkout's mmtat is the one measured (as ``python -m`` from the
# repository's root would import it; also from a ``git archive`` that is
# not installed), and the release reference is test code,
# tests/release_reference.py: tests/ is no package (and MMSegmentation and
# MMRazor install a ``tests`` package of their own, which would shadow
# ``tests.release_reference``), so tests/ itself goes on the path.
for _path in (ROOT, osp.join(ROOT, 'tests')):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import torch  # noqa: E402
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402
from torch.utils._pytree import tree_flatten  # noqa: E402

from mmtat.tools._common import reported_errors  # noqa: E402
from mmtat.utils.errors import InputError  # noqa: E402

CASES: Dict[str, dict] = {
    # DeepLabV3 R101 -> R18 bottleneck at 512x512 crops, output stride 8.
    'r101_r18': dict(
        batch=4, student_channels=128, teacher_channels=512, size=(64, 64),
        patch_grid=(8, 8), num_heads=16, anchor_grid=(16, 16),
        patch_weight=1.0, anchor_weight=0.4, warm_size=(16, 16),
        impls=['release_loop', 'release_loop_floor', 'tat_per_image',
               'tat_batch_stats', 'tat_no_cpu_steps', 'tat_no_logit_floor']),
    # Global one-to-all TaT on the release's decoder map (DeepLabV3+, 513
    # crops, stride 4): 129x129 = 16641 positions, 256 channels; the full
    # float32 attention is 1.03 GiB (for GPUs: a CPU step takes minutes).
    'global_129': dict(
        batch=1, student_channels=256, teacher_channels=256,
        size=(129, 129), patch_grid=(1, 1), num_heads=1, anchor_grid=(1, 1),
        patch_weight=1.0, anchor_weight=0.0, warm_size=(16, 16),
        impls=['release_loop', 'tat_per_image']),
    # Seconds-long stand-ins of the two kinds, for checking the tooling
    # (python .dev_scripts/gpu_check.py --quick); not benchmarks.
    'tiny_patches': dict(
        batch=2, student_channels=8, teacher_channels=16, size=(16, 16),
        patch_grid=(4, 4), num_heads=4, anchor_grid=(4, 4),
        patch_weight=1.0, anchor_weight=0.4, warm_size=(8, 8),
        impls=['release_loop', 'release_loop_floor', 'tat_per_image',
               'tat_batch_stats', 'tat_no_cpu_steps', 'tat_no_logit_floor']),
    'global_tiny': dict(
        batch=1, student_channels=8, teacher_channels=16, size=(24, 24),
        patch_grid=(1, 1), num_heads=1, anchor_grid=(1, 1),
        patch_weight=1.0, anchor_weight=0.0, warm_size=(8, 8),
        impls=['release_loop', 'tat_per_image', 'tat_sdpa',
               'tat_no_logit_floor']),
    # Global one-to-all TaT on a large map: 9216 positions.
    'global_96': dict(
        batch=1, student_channels=128, teacher_channels=256, size=(96, 96),
        patch_grid=(1, 1), num_heads=1, anchor_grid=(1, 1),
        patch_weight=1.0, anchor_weight=0.0, warm_size=(16, 16),
        impls=['release_loop', 'tat_per_image', 'tat_sdpa',
               'tat_no_logit_floor']),
}

# Memory runs pin glibc's mmap threshold at 1 MiB: blocks above it are
# mapped and returned to the OS when freed, so RSS follows live memory
# instead of how much freed heap glibc happens to retain (its dynamic
# threshold otherwise grows to 32 MiB; the retained heap then varied by
# 30+ MiB between identical runs).
MEMORY_ENV = {'MALLOC_MMAP_THRESHOLD_': str(1 << 20)}

IMPL_LABELS = {
    'release_loop': 'release image loop (reference)',
    'release_loop_floor': 'release image loop + logit floor (diagnostic)',
    'tat_per_image': 'TaTLoss (default: per-image BN stats)',
    'tat_batch_stats': 'TaTLoss, batch BN stats',
    'tat_sdpa': 'TaTLoss with SDPA forced on this device (diagnostic)',
    'tat_no_cpu_steps': 'TaTLoss without CPU steps (diagnostic)',
    'tat_no_logit_floor': 'TaTLoss without the logit floor (diagnostic)',
}
#: The TaTLoss options each diagnostic row changes.
OPTION_CHANGES = {
    'tat_sdpa': dict(large_attention_kernel='sdpa'),
    'tat_no_cpu_steps': dict(cpu_step_bytes=1 << 62),
    'tat_no_logit_floor': dict(logit_floor=float('inf')),
}


# ----------------------------------------------------------------------
# child process: one (case, implementation)
# ----------------------------------------------------------------------
def _make(case, impl, device, size, batch=None):
    from release_reference import release_arguments, release_tat_loss

    import mmtat  # noqa: F401  (compat fixes before MMRazor)
    from mmtat.models import TaTLoss
    torch.manual_seed(0)
    mod = TaTLoss(
        case['student_channels'], case['teacher_channels'],
        patch_grid=case['patch_grid'], num_heads=case['num_heads'],
        anchor_grid=case['anchor_grid'], patch_weight=case['patch_weight'],
        anchor_weight=case['anchor_weight'],
        norm_stats='batch' if impl == 'tat_batch_stats' else 'per_image',
        **OPTION_CHANGES.get(impl, {})).to(device).train()
    b = batch or case['batch']
    f_s = torch.randn(b, case['student_channels'], *size, device=device,
                      requires_grad=True)
    f_t = torch.randn(b, case['teacher_channels'], *size, device=device)
    if impl.startswith('release_loop'):
        floor = mod.logit_floor if impl.endswith('_floor') else None

        def fn(m, s, t):
            embeddings = (m.query_embed, m.key_embed, m.value_embed)
            return release_tat_loss(s, t, embeddings, logit_floor=floor,
                                    **release_arguments(m))
    else:

        def fn(m, s, t):
            return m(s, t)
    return mod, f_s, f_t, fn


class _LiveTensorPeak:
    """Peak bytes of tensor storages created during a block (a dispatch
    mode sees every op output; a storage is released when garbage
    collected). Storages that existed before (inputs, parameters) are not
    counted, so this is the rise. Library-internal scratch buffers that
    never become tensors (e.g. oneDNN workspaces) are not seen."""

    def __init__(self, existing):
        tracker = self
        self.skip = {t.untyped_storage().data_ptr() for t in existing}
        self.live, self.current, self.peak = {}, 0, 0

        class Mode(TorchDispatchMode):

            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                out = func(*args, **(kwargs or {}))
                for t in tree_flatten(out)[0]:
                    if isinstance(t, torch.Tensor):
                        tracker._add(t)
                return out

        self.mode = Mode()

    def _add(self, t):
        storage = t.untyped_storage()
        ptr, nbytes = storage.data_ptr(), storage.nbytes()
        if ptr in self.skip or ptr in self.live or nbytes == 0:
            return
        self.live[ptr] = nbytes
        self.current += nbytes
        self.peak = max(self.peak, self.current)

        def release(p=ptr):
            self.current -= self.live.pop(p, 0)

        weakref.finalize(storage, release)

    def __enter__(self):
        self.mode.__enter__()
        return self

    def __exit__(self, *exc):
        return self.mode.__exit__(*exc)


def _step(mod, f_s, f_t, fn):
    mod.zero_grad(set_to_none=True)
    f_s.grad = None
    loss = fn(mod, f_s, f_t)
    loss.backward()
    return loss


def _sync(device):
    if device == 'cuda':
        torch.cuda.synchronize()


def run_child(spec: dict) -> dict:
    """One (case, implementation) in this fresh process.

    ``spec['mode'] == 'time'``: peak-memory rise of the first full-size
    step (RSS on CPU, allocated memory on CUDA), loss and gradient for the
    agreement check, then --warmup and --repeat timed steps.
    ``'memory'`` (CPU): RSS rise of the first full-size step and the
    live-tensor peak of a second one; run by the parent with glibc's mmap
    threshold pinned (see ``MEMORY_ENV``).
    """
    case, impl, device = CASES[spec['case']], spec['impl'], spec['device']
    # Warm up kernels at a reduced size so the peak reading below reflects
    # the measured step, not library initialisation.
    _step(*_make(case, impl, device, case['warm_size'], batch=1))
    mod, f_s, f_t, fn = _make(case, impl, device, case['size'])

    _sync(device)
    if device == 'cuda':
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    else:
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    loss = _step(mod, f_s, f_t, fn)
    _sync(device)
    if device == 'cuda':
        peak_rise = torch.cuda.max_memory_allocated() - base
    else:
        peak_rise = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss *
                     1024 - base)
    result = dict(case=spec['case'], impl=impl, mode=spec['mode'],
                  peak_rise_bytes=int(peak_rise))

    if spec['mode'] == 'memory':
        existing = [f_s, f_t] + list(mod.parameters()) + list(mod.buffers())
        mod.zero_grad(set_to_none=True)
        f_s.grad = None
        with _LiveTensorPeak(existing) as tracker:
            _step(mod, f_s, f_t, fn)
        result['tensor_peak_bytes'] = tracker.peak
        return result

    result['loss'] = float(loss.detach())
    result['grad_abs_sum'] = float(f_s.grad.double().abs().sum())
    for _ in range(spec['warmup']):
        _step(mod, f_s, f_t, fn)
    times = []
    for _ in range(spec['repeat']):
        _sync(device)
        t0 = time.perf_counter()
        _step(mod, f_s, f_t, fn)
        _sync(device)
        times.append((time.perf_counter() - t0) * 1e3)
    result.update(times_ms=times, median_ms=statistics.median(times))
    return result


# ----------------------------------------------------------------------
# parent: orchestration and report
# ----------------------------------------------------------------------
def _mib(n: float) -> str:
    return f'{n / 2**20:.1f}'


def _shapes(c: dict) -> str:
    anchor = (f"anchor {c['anchor_grid'][0]}x{c['anchor_grid'][1]}"
              if c['anchor_weight'] > 0 else 'no anchors')
    return (f"B={c['batch']}, S {c['student_channels']}ch -> T "
            f"{c['teacher_channels']}ch, {c['size'][0]}x{c['size'][1]}, "
            f"patch grid {c['patch_grid'][0]}x{c['patch_grid'][1]} / "
            f"{c['num_heads']} heads, {anchor}")


def format_report(info: dict, rows: List[dict], device: str) -> str:
    cpu = device == 'cpu'
    lines = [
        '# TaTLoss benchmark (forward + backward)', '',
        f"Machine: {info['cpu']}, {info['cpu_count']} logical cores "
        f"({info['usable_cores']} usable), torch {info['torch']} "
        f"({info['torch_threads']} threads), python {info['python']}, "
        f"device {device}" + (f", GPU {info['gpu']}" if 'gpu' in info else
                              ''), '',
        '- Time: median of --repeat timed forward+backward steps after '
        '--warmup steps, each row in a fresh subprocess. Ratios are to the '
        'release image loop of the same case.',
        '- Loss / grad diff: relative difference to that reference on '
        'identical inputs and parameters (grad: sum of |d loss / d '
        'student|).',
    ]
    if cpu:
        lines += [
            '- Memory, measured in fresh subprocesses as the rise over one '
            'forward+backward at full size after a warm-up at a reduced '
            'size:',
            '  - RSS (glibc default): rise of peak RSS (getrusage '
            'ru_maxrss) in the timing process; includes freed heap that '
            'glibc keeps resident, which varies between identical runs.',
            '  - RSS (mmap 1 MiB): the same in a separate process with '
            'MALLOC_MMAP_THRESHOLD_=1048576, so that freed blocks go back '
            'to the OS and RSS follows live memory (incl. library scratch '
            'such as oneDNN reorders).',
            '  - tensor peak: peak bytes of tensor storages alive during the '
            'step (TorchDispatchMode tracker; inputs and parameters '
            'excluded), what the computation itself holds.',
        ]
    else:
        lines.append('- Memory: torch.cuda.max_memory_allocated() minus the '
                     'memory allocated before one forward+backward.')
    lines.append('')
    if cpu:
        header = ('| case | implementation | ms fwd+bwd | time ratio | '
                  'RSS MiB (glibc default) | RSS MiB (mmap 1 MiB) | '
                  'tensor peak MiB | tensor ratio | loss diff | grad diff |')
        n_cols = 10
    else:
        header = ('| case | implementation | ms fwd+bwd | time ratio | '
                  'peak rise MiB | mem ratio | loss diff | grad diff |')
        n_cols = 8
    lines += [header, '|' + '---|' * n_cols]
    for r in rows:
        ref = next(x for x in rows
                   if x['case'] == r['case'] and x['impl'] == 'release_loop')
        t_ratio = r['median_ms'] / ref['median_ms']
        if cpu:
            m_ratio = r['tensor_peak_bytes'] / ref['tensor_peak_bytes']
            mem = (f"{_mib(r['peak_rise_bytes'])} | "
                   f"{_mib(r['pinned_rise_bytes'])} | "
                   f"{_mib(r['tensor_peak_bytes'])} | {m_ratio:.2f}")
        else:
            m_ratio = r['peak_rise_bytes'] / ref['peak_rise_bytes']
            mem = f"{_mib(r['peak_rise_bytes'])} | {m_ratio:.2f}"
        loss_diff = abs(r['loss'] - ref['loss']) / max(abs(ref['loss']),
                                                       1e-30)
        grad_diff = abs(r['grad_abs_sum'] - ref['grad_abs_sum']) / max(
            ref['grad_abs_sum'], 1e-30)
        lines.append(f"| {r['case']} | {IMPL_LABELS[r['impl']]} | "
                     f"{r['median_ms']:.0f} | {t_ratio:.2f} | {mem} | "
                     f'{loss_diff:.1e} | {grad_diff:.1e} |')
    lines += ['', 'Cases:']
    for name in dict.fromkeys(r['case'] for r in rows):
        lines.append(f'- {name}: {_shapes(CASES[name])}')
    measures = ([('tensor peak', 'tensor_peak_bytes'),
                 ('RSS (mmap 1 MiB)', 'pinned_rise_bytes'),
                 ('RSS (glibc default)', 'peak_rise_bytes')]
                if cpu else [('peak rise', 'peak_rise_bytes')])
    for name in dict.fromkeys(r['case'] for r in rows):
        if not name.startswith('global_'):
            continue
        g = CASES[name]
        n = g['size'][0] * g['size'][1]
        full = n * n * 4
        lines += [
            '',
            f'Full {n}x{n} float32 attention matrix ({name}, one image, one '
            f'head): {_mib(full)} MiB; a third of it: {_mib(full / 3)} MiB.',
        ]
        for r in rows:
            if r['case'] != name or r['impl'] == 'release_loop':
                continue
            parts = [
                f"{label} {_mib(r[key])} MiB "
                f"({'<=' if r[key] <= full / 3 else '>'} a third)"
                for label, key in measures
            ]
            lines.append(f"- {IMPL_LABELS[r['impl']]}: " + ', '.join(parts))
    return '\n'.join(lines) + '\n'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument('--repeat', type=int, default=5,
                        help='timed forward+backward steps per row')
    parser.add_argument('--warmup', type=int, default=1,
                        help='untimed steps before timing')
    parser.add_argument('--cases', nargs='+', choices=sorted(CASES),
                        default=['r101_r18', 'global_96'])
    parser.add_argument(
        '--impls', nargs='+', choices=sorted(IMPL_LABELS), default=None,
        help='only these rows of each case (the release_loop reference '
        'always runs: the ratios are to it)')
    parser.add_argument('--out', default=None,
                        help='also write the results: a .json file gets the '
                        'raw data and a .md beside it the table; any other '
                        'name the table')
    parser.add_argument('--child', default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _run_row(spec: dict) -> dict:
    """One (case, implementation, mode) in a fresh interpreter."""
    print(f"running {spec['case']} / {spec['impl']} ({spec['mode']}) ...",
          file=sys.stderr, flush=True)
    env = dict(os.environ)
    if spec['mode'] == 'memory':
        env.update(MEMORY_ENV)
    proc = subprocess.run(
        [sys.executable, osp.abspath(__file__), '--child',
         json.dumps(spec)],
        capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise RuntimeError(f"{spec['case']} / {spec['impl']} "
                           f"({spec['mode']}) failed with exit code "
                           f'{proc.returncode}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    if args.child is not None:
        print(json.dumps(run_child(json.loads(args.child))))
        return
    with reported_errors():
        if args.device == 'cuda' and not torch.cuda.is_available():
            raise InputError('--device cuda, but torch.cuda.is_available() '
                             'is False on this machine.')
        if args.repeat < 1 or args.warmup < 0:
            raise InputError('--repeat must be >= 1 and --warmup >= 0, got '
                             f'{args.repeat} and {args.warmup}.')

    rows = []
    for case in args.cases:
        impls = [
            impl for impl in CASES[case]['impls'] if args.impls is None
            or impl == 'release_loop' or impl in args.impls
        ]
        for impl in impls:
            row: dict = {}
            modes = ['time', 'memory'] if args.device == 'cpu' else ['time']
            for mode in modes:
                out = _run_row(
                    dict(case=case, impl=impl, device=args.device,
                         repeat=args.repeat, warmup=args.warmup, mode=mode))
                if mode == 'memory':
                    row['pinned_rise_bytes'] = out['peak_rise_bytes']
                    row['tensor_peak_bytes'] = out['tensor_peak_bytes']
                else:
                    row.update(out)
            rows.append(row)

    from mmtat.utils.machine import machine_info
    info = machine_info(args.device)
    report = format_report(info, rows, args.device)
    print(report)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        table = args.out
        if args.out.endswith('.json'):
            with open(args.out, 'w') as f:
                json.dump(dict(machine=info, rows=rows), f, indent=2)
            table = args.out[:-len('.json')] + '.md'
        with open(table, 'w') as f:
            f.write(report)


if __name__ == '__main__':
    main()
