"""Size and save time of a distillation checkpoint with and without the
frozen teacher.

``python .dev_scripts/checkpoint_size.py [CONFIG] --out DIR`` (a
maintainers' script of the repository, not installed with mmtat).  It builds
the config's runner as training would (its own crop, e.g. 512x512 for the
TaT VOC config; networks with random weights, offline; a generated dataset
in the config's layout, which is only listed), writes the teacher's weights
to a file and points ``model.teacher_ckpt`` at it, builds the optimizer and
takes one step (with zero gradients: the momentum buffers of a real
checkpoint exist, the weights do not move), then saves checkpoints with
``runner.save_checkpoint`` through the atomic backend, as the
``CheckpointHook`` does:

* ``with teacher``: ``FrozenTeacherCheckpointHook(keep_teacher=True)``
  (what every checkpoint held before);
* ``without teacher, first save of a run``: the hook as shipped, with its
  once-per-run work (the SHA-256 of the teacher file and the check that the
  file gives the teacher's weights bitwise);
* ``without teacher``: the later saves of the run.

Each is repeated ``--repeat`` times (the first-save case with fresh
caches); the report gives every time, the median and the file sizes, with
the machine, the command and where the files were written, in
``DIR/checkpoint_size.{json,md}``.
"""
import argparse
import os
import os.path as osp
import shlex
import shutil
import statistics
import sys
import time
from datetime import datetime
from typing import Any, Dict, List

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# The checkout's mmtat and configs (as ``python -m`` from the repository's
# root would import it; also from a ``git archive`` that is not installed).
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from mmtat.tools._common import (  # noqa: E402
    load_config,
    reported_errors,
    write_report,
)

DEFAULT_CONFIG = 'configs/tat/deeplabv3_r101_r18_voc.py'


def _walk(node: Any, fn) -> None:
    if isinstance(node, dict):
        fn(node)
        for value in node.values():
            _walk(value, fn)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _walk(value, fn)


def build_runner(config: str, work_dir: str) -> Any:
    """The config's runner at its own crop, offline, on a generated
    dataset, with a teacher weights file as ``model.teacher_ckpt``."""
    import torch
    from mmengine.model import revert_sync_batchnorm
    from mmengine.runner import Runner

    import mmtat  # noqa: F401
    from mmtat.checks import make_offline
    from mmtat.checks.dry_run import make_dry_run_dataset
    cfg = load_config(config)
    data_root = make_dry_run_dataset(cfg, osp.join(work_dir, 'data'))
    cfg.model.teacher_ckpt = None
    make_offline(cfg, mode='train')

    def local(node: dict) -> None:
        if 'data_root' in node:
            node['data_root'] = data_root
        if str(node.get('type', '')).split('.')[-1] == 'SyncBN':
            node['type'] = 'BN'  # one process on a CPU

    for key in ('model', 'train_dataloader', 'val_dataloader',
                'test_dataloader'):
        _walk(cfg[key], local)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[key].num_workers = 0
        cfg[key].persistent_workers = False
    cfg.launcher = 'none'
    cfg.work_dir = osp.join(work_dir, 'run')
    cfg.experiment_name = 'checkpoint_size'
    cfg.visualizer = dict(cfg.visualizer, name='checkpoint_size')
    runner = Runner.from_cfg(cfg)
    runner.model = revert_sync_batchnorm(runner.model)
    teacher_file = osp.join(work_dir, 'teacher.pth')
    torch.save(dict(state_dict=runner.model.teacher.state_dict()),
               teacher_file)
    runner.cfg.model.teacher_ckpt = teacher_file
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    runner.param_schedulers = runner.build_param_scheduler(
        runner.param_schedulers)
    for param in runner.model.parameters():
        if param.requires_grad:
            param.grad = torch.zeros_like(param)
    runner.optim_wrapper.step()  # the momentum buffers of a checkpoint
    return runner


def measure(runner: Any, out_dir: str, repeat: int) -> Dict[str, Any]:
    from mmtat.checks import teacher_record
    from mmtat.engine import ATOMIC_BACKEND, FrozenTeacherCheckpointHook
    [hook] = [h for h in runner.hooks
              if isinstance(h, FrozenTeacherCheckpointHook)]
    cases: Dict[str, Dict[str, Any]] = {}

    def save(name: str, index: int) -> float:
        filename = f'{name}_{index}.pth'
        start = time.perf_counter()
        runner.save_checkpoint(out_dir, filename, by_epoch=False,
                               backend_args=dict(backend=ATOMIC_BACKEND))
        seconds = time.perf_counter() - start
        case = cases.setdefault(name, dict(seconds=[], bytes=None))
        case['seconds'].append(round(seconds, 3))
        case['bytes'] = osp.getsize(osp.join(out_dir, filename))
        os.remove(osp.join(out_dir, filename))
        return seconds

    for index in range(repeat):
        hook.keep_teacher = True
        save('with_teacher', index)
        hook.keep_teacher = False
        # a new run: nothing hashed or compared yet
        hook._verdict.clear()
        teacher_record._HASHES.clear()
        save('without_teacher_first_save', index)
        save('without_teacher', index)
    for case in cases.values():
        case['median_seconds'] = round(statistics.median(case['seconds']),
                                       3)
        case['megabytes'] = round(case['bytes'] / 2**20, 1)
    return cases


def table(result: Dict[str, Any]) -> str:
    rows = [
        '| checkpoint | size (MiB) | save time, median (s) | save times (s) |',
        '| :-- | --: | --: | :-- |',
    ]
    labels = {
        'with_teacher': 'with the teacher (keep_teacher=True; before)',
        'without_teacher_first_save': 'without the teacher, first save of '
        'a run (SHA-256 of the teacher file, equality check)',
        'without_teacher': 'without the teacher, later saves',
    }
    for name, label in labels.items():
        case = result['cases'][name]
        rows.append(f'| {label} | {case["megabytes"]} | '
                    f'{case["median_seconds"]} | '
                    f'{", ".join(map(str, case["seconds"]))} |')
    machine = result['machine']
    return '\n'.join([
        f'# Checkpoint size and save time: {result["config"]}', '',
        f'Command: `{result["command"]}`', '',
        f'Machine: {machine["cpu"]}, {machine["usable_cores"]} usable cores, '
        f'torch {machine["torch"]} ({machine["torch_threads"]} threads), '
        f'Python {machine["python"]}; files written to '
        f'`{result["written_to"]}` ({result["filesystem"]}); '
        f'{result["date"]}.', '',
        f'Crop {result["crop"]}; teacher weights file '
        f'{result["teacher_file_megabytes"]} MiB.', ''
    ] + rows) + '\n'


def _filesystem(path: str) -> str:
    best, kind = '', 'unknown'
    try:
        with open('/proc/mounts') as f:
            for line in f:
                parts = line.split()
                if len(parts) > 2 and path.startswith(parts[1]) and len(
                        parts[1]) > len(best):
                    best, kind = parts[1], parts[2]
    except OSError:
        pass
    return f'{kind} at {best}' if best else kind


def main(argv: List[str] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', default=DEFAULT_CONFIG)
    parser.add_argument('--out', required=True,
                        help='where the report is written')
    parser.add_argument('--work-dir', default='/tmp/mmtat_checkpoint_size',
                        help='where the runner and checkpoints are written')
    parser.add_argument('--repeat', type=int, default=3)
    args = parser.parse_args(argv)
    from mmtat.utils.machine import machine_info
    with reported_errors():
        shutil.rmtree(args.work_dir, ignore_errors=True)
        os.makedirs(args.work_dir)
        runner = build_runner(args.config, args.work_dir)
        out_dir = osp.join(args.work_dir, 'checkpoints')
        os.makedirs(out_dir)
        cases = measure(runner, out_dir, args.repeat)
    result = dict(
        config=args.config,
        command=shlex.join([sys.executable] + sys.argv),
        crop=list(runner.cfg.model.data_preprocessor.size),
        teacher_file_megabytes=round(
            osp.getsize(runner.cfg.model.teacher_ckpt) / 2**20, 1),
        written_to=out_dir, filesystem=_filesystem(out_dir),
        machine=machine_info('cpu'), date=datetime.now().isoformat(
            timespec='seconds'), cases=cases)
    text = table(result)
    write_report(args.out, 'checkpoint_size', result, text)
    print(text)


if __name__ == '__main__':
    main()
