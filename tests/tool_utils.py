"""Helpers of the tests that run mmtat's command-line tools and the
maintainers' scripts (tests/test_tools, tests/test_dev_scripts).

The tools run as processes of their own as a user runs them (``python
tools/train.py CONFIG --cfg-options ...``; forked from an interpreter that
has imported the stack once, tool_process.py, unless ``fresh=True``), on
generated data in MMSeg's
VOC / COCO-Stuff10k layouts, with options that keep a run to seconds on a
CPU: 128x128 crops (the smallest crop at which the shipped TaT grids fit the
16x16 bottleneck map: an 8x8 / 16x16 patch grid and a 16x16 anchor grid),
two images per batch (the ASPP image-pool branch needs more than one value
per BN channel in training), a few iterations, and no downloads.
"""
import json
import os
import os.path as osp
import re
import socket
import subprocess
import sys
from typing import Dict, List, Optional

from tool_process import run_forked

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TAT_VOC = 'configs/tat/deeplabv3_r101_r18_voc.py'
TAT_COCO = 'configs/tat/deeplabv3_r101_r18_cocostuff10k.py'
BASELINE_VOC = 'configs/baselines/deeplabv3_r18_voc.py'
BASELINE_COCO = 'configs/baselines/deeplabv3_r18_cocostuff10k.py'

CROP = 128
#: What the shipped distillation configs need to run without any download.
OFFLINE_DISTILL = [
    'model.teacher_ckpt=None', 'model.teacher.pretrained=None',
    'model.architecture.pretrained=None'
]
OFFLINE_BASELINE = ['model.pretrained=None']


def tool_env(**extra: str) -> Dict[str, str]:
    """Environment of a tool subprocess: the repository on the path (as
    tools/dist_train.sh sets it) and an empty download cache."""
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        [REPO] + [p for p in [env.get('PYTHONPATH')] if p])
    # One thread per process: on a small shared CPU, OpenMP threads of
    # several processes competing for the cores make a run ~10x slower.
    env['OMP_NUM_THREADS'] = '1'
    env['MKL_NUM_THREADS'] = '1'
    env.update(extra)
    return env


def run_tool(args: List[str],
             timeout: float = 600,
             env: Optional[Dict[str, str]] = None,
             fresh: bool = False) -> subprocess.CompletedProcess:
    """Run ``python ARGS`` in the repository; stdout and stderr merged.

    A script runs in a process forked from the tests' fork server
    (:func:`tool_process.run_forked`: the stack imported once); ``fresh``
    (and ``-m MODULE``, torchrun's agent) start a new interpreter, for what
    depends on an interpreter's start."""
    if not fresh and not args[0].startswith('-'):
        return run_forked(args, REPO, env or tool_env(), timeout)
    return subprocess.run([sys.executable] + args,
                          cwd=REPO,
                          env=env or tool_env(),
                          stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT,
                          text=True,
                          timeout=timeout)


def load_checkpoint(path: str) -> dict:
    """A checkpoint as mmengine loads it (weights-only, with the types
    mmengine writes allowed by mmtat.compat)."""
    from mmengine.runner import CheckpointLoader

    import mmtat  # noqa: F401
    return CheckpointLoader.load_checkpoint(path, map_location='cpu')


def assert_ok(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, proc.stdout[-6000:]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def smoke_options(dataset: str,
                  data_root: str,
                  distill: bool = True,
                  max_iters: int = 2,
                  batch_size: int = 2,
                  crop: int = CROP) -> List[str]:
    """``--cfg-options`` that shrink a shipped config to a CPU smoke run.

    Only sizes, paths and lengths change: crop, resize scales, batch size,
    workers, iterations, validation/checkpoint interval, data_root, and the
    downloads (set to None).  ``dataset`` is ``'voc'`` or ``'coco'``.
    """
    size = f'({crop},{crop})'
    # MMSeg's pipelines resize to a (2048, 512) scale; keep the short side
    # around the crop instead.
    scale = f'({4 * crop},{crop})'
    opts = [
        f'train_dataloader.batch_size={batch_size}',
        f'train_cfg.max_iters={max_iters}',
        f'train_cfg.val_interval={max_iters}',
        f'default_hooks.checkpoint.interval={max_iters}',
        'default_hooks.logger.interval=1',
        f'model.data_preprocessor.size={size}',
    ]
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [
            f'{loader}.num_workers=0', f'{loader}.persistent_workers=False'
        ]
    for loader in ('val_dataloader', 'test_dataloader'):
        opts += [
            f'{loader}.dataset.data_root={data_root}',
            f'{loader}.dataset.pipeline.1.scale={scale}'
        ]
    if dataset == 'voc':
        # train: ConcatDataset of train.txt and aug.txt, each with
        # [Load, LoadAnn, RandomResize, RandomCrop, Flip, Photo, Pad, Pack]
        for i in (0, 1):
            ds = f'train_dataloader.dataset.datasets.{i}'
            opts += [
                f'{ds}.data_root={data_root}',
                f'{ds}.pipeline.2.scale={scale}',
                f'{ds}.pipeline.3.crop_size={size}',
                f'{ds}.pipeline.6.size={size}'
            ]
    elif dataset == 'coco':
        ds = 'train_dataloader.dataset'
        opts += [
            f'{ds}.data_root={data_root}', f'{ds}.pipeline.2.scale={scale}',
            f'{ds}.pipeline.3.crop_size={size}'
        ]
    else:
        raise ValueError(dataset)
    opts += OFFLINE_DISTILL if distill else OFFLINE_BASELINE
    return opts


def in_process_options(work_dir: str) -> List[str]:
    """``--cfg-options`` for a tool run through ``main(argv)`` in the test
    process: mmengine keeps one visualizer per name for the process, which
    would write into an earlier run's (possibly removed) work dir."""
    return [f'visualizer.name=visualizer_{osp.basename(str(work_dir))}_'
            f'{abs(hash(str(work_dir)))}']


def bn_options() -> List[str]:
    """norm_cfg of both networks as BN: SyncBN needs GPUs under DDP."""
    return [
        f'model.{net}.{part}.norm_cfg.type=BN'
        for net in ('architecture', 'teacher')
        for part in ('backbone', 'decode_head', 'auxiliary_head')
    ]


def read_scalars(work_dir: str) -> List[dict]:
    """The scalars mmengine's LocalVisBackend logged in ``work_dir``."""
    rows = []
    for stamp in sorted(os.listdir(work_dir)):
        path = osp.join(work_dir, stamp, 'vis_data', 'scalars.json')
        if osp.isfile(path):
            with open(path) as f:
                rows += [json.loads(line) for line in f if line.strip()]
    return rows


def read_json_log(work_dir: str) -> List[dict]:
    """The rows of mmengine's json logs (``<stamp>/<stamp>.json``); the
    metrics of ``tools/test.py`` are written there."""
    rows = []
    for stamp in sorted(os.listdir(work_dir)):
        path = osp.join(work_dir, stamp, f'{stamp}.json')
        if osp.isfile(path):
            with open(path) as f:
                rows += [json.loads(line) for line in f if line.strip()]
    return rows


def train_iters_logged(log: str) -> List[int]:
    """The iterations of the ``Iter(train) [i/N]`` lines of a log."""
    return [int(i) for i in re.findall(r'Iter\(train\) \[\s*(\d+)/\d+\]', log)]
