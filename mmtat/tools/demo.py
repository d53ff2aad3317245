"""mmtat's embedded demo: the whole TaT pipeline on generated data, on a CPU.

``make demo`` runs this module (``python -m mmtat.tools.demo``, or
``tools/demo.py``).  It

1. writes a small synthetic Pascal VOC dataset (:mod:`mmtat.datasets`) into
   ``WORK_DIR/data`` (shapes on noisy textures, 5 of the 21 VOC classes);
2. trains a teacher: the teacher network of the real TaT config (DeepLabV3
   R101-D8) in the runtime of the real student-baseline config;
3. saves one initialisation of the student (DeepLabV3 R18-D8) and distils it
   from that teacher with each method of :data:`METHODS` (TaT, KD, CWD:
   the shipped VOC configs of the pair, which differ in
   ``model.distiller`` only), whose ``model.teacher_ckpt`` becomes the
   checkpoint of step 2;
4. trains the same student (same initial weights, seed, data and schedule)
   without distillation, through ``configs/baselines/deeplabv3_r18_voc.py``;
5. prints the table of the teacher's and the students' mIoU on the
   validation split and writes it, with the command, the commit and the
   machine, to ``WORK_DIR/demo_results.{json,md}``;
6. draws what the TaT student matches on the first validation image
   (:mod:`mmtat.visualization.config_pictures`) into ``WORK_DIR/pictures``.

The configs are the real ones, loaded with ``mmengine.Config.fromfile``;
this script only overrides what a CPU run on tiny images needs
(:func:`shrink_for_demo`): the data root, crop size (128x128, the smallest
at which the configs' TaT patches fit the 16x16 feature map), iterations
and schedule length, batch size, BatchNorm instead of SyncBN, no
ImageNet-pretrained weights, no data-loader worker processes.  The
optimiser, learning-rate policy, losses, distillers and their weights are
the configs' own, the same for every method.

What the numbers mean: the networks start from random weights and train
for 60 (teacher) and 100 (students) iterations of 4 images on 32 synthetic
images, evaluated on 8.  That is a regime in which the student's features
carry nothing yet that TaT could align (its gradient is nearly orthogonal
to the cross-entropy's there, while KD's points the same way): the table
shows that the pipeline runs and how the methods act on an untrained
student, not how they rank on real data (``docs/results/demo_study``
measures why).  ``--teacher-depth 50`` shrinks the teacher for a slow CPU;
``--quick`` (a few iterations on 4 images) is for tests.
"""
import argparse
import copy
import json
import logging
import os
import os.path as osp
import time
import warnings
from typing import Any, Dict, List, Optional

from mmengine.config import Config, ConfigDict
from mmengine.hooks import Hook
from mmengine.runner import Runner

# mmtat before anything imports MMRazor: compat fixes, registers TaT
import mmtat  # noqa: F401
from mmtat.checks.dry_run import shrink_for_dry_run
from mmtat.compat import enable_config_caches
from mmtat.datasets import VOC_CLASSES, make_synthetic_voc
from mmtat.utils import config_file, display_config
from mmtat.visualization import visualize_config

TAT_CONFIG = config_file('tat/deeplabv3_r101_r18_voc.py')
BASELINE_CONFIG = config_file('baselines/deeplabv3_r18_voc.py')
#: The distillation methods the demo compares, each a shipped config of the
#: same pair that differs from the TaT config in ``model.distiller`` only.
METHODS = {
    'TaT': TAT_CONFIG,
    'KD': config_file('baselines/kd_deeplabv3_r101_r18_voc.py'),
    'CWD': config_file('baselines/cwd_deeplabv3_r101_r18_voc.py'),
}

#: Crop (= image) side.  The VOC TaT config tiles the 1/8-resolution feature
#: map with 8x8 patches in groups of 4, which needs a map of at least 16x16
#: (2x2 patches, one group).
CROP = 128

DEFAULTS = dict(
    iters=100, teacher_iters=60, batch_size=4, num_train=32, num_val=8,
    log_interval=10)
QUICK = dict(
    iters=2, teacher_iters=1, batch_size=2, num_train=4, num_val=2,
    log_interval=1)

DEMO_NOTE = (
    'Random initialisation, {teacher_iters} teacher / {iters} student '
    'iterations on {num_train} synthetic {crop}x{crop} images, evaluated on '
    '{num_val}: these numbers show that the pipeline runs end to end and '
    'how the methods act on an untrained student in a few iterations, not '
    'how they rank on real data.')


# --------------------------------------------------------------------------
# config overrides
# --------------------------------------------------------------------------
def shrink_for_demo(cfg: Config, *, data_root: str, work_dir: str,
                    iters: int, batch_size: int, seed: int,
                    log_interval: int, name: str, crop: int = CROP) -> Config:
    """Turn a real training config into a CPU run on the synthetic data
    (:func:`mmtat.checks.dry_run.shrink_for_dry_run`: only run-time
    quantities change; model, losses, optimiser and learning-rate policy
    stay the config's own), validating and saving a checkpoint at the end.
    """
    return shrink_for_dry_run(
        cfg, data_root=data_root, work_dir=work_dir, crop=(crop, crop),
        iters=iters, batch_size=batch_size, seed=seed,
        log_interval=log_interval, name=f'demo_{name}')


def teacher_config(baseline: Config, tat: Config,
                   depth: Optional[int]) -> Config:
    """The baseline's runtime with the TaT config's teacher network."""
    cfg = copy.deepcopy(baseline)
    teacher = copy.deepcopy(tat.model.teacher)
    preprocessor = baseline.model.get('data_preprocessor') or \
        tat.model.get('data_preprocessor')
    teacher['data_preprocessor'] = copy.deepcopy(preprocessor)
    if depth is not None and depth != teacher.backbone.depth:
        # ResNet-50 keeps the 2048-/1024-channel stages of ResNet-101, so
        # the heads still fit (TaT's channels are found when it is built).
        teacher.backbone.depth = depth
    cfg.model = teacher
    return cfg


def _network_of(model: dict) -> dict:
    """A segmentor dict without what does not change the network."""
    model = model.to_dict() if isinstance(model, ConfigDict) else dict(model)
    for key in ('_scope_', 'data_preprocessor', 'pretrained', 'init_cfg'):
        model.pop(key, None)
    return model


def check_same_student(baseline: Config, tat: Config) -> None:
    """The comparison only means something if both runs train one network."""
    if _network_of(baseline.model) != _network_of(tat.model.architecture):
        raise ValueError(
            'the baseline config\'s model and the TaT config\'s '
            'model.architecture are different networks; the demo compares '
            'the same student with and without TaT')


def save_student_init(student_cfg: Config, path: str, seed: int) -> str:
    """Initialise the student once and save it, so that the TaT run and the
    plain run start from the same weights (their seeds alone would not do:
    the TaT run also builds the teacher and the TaT embeddings)."""
    import mmseg.models  # noqa: F401  (registers the segmentors)
    import torch
    from mmengine.registry import DefaultScope
    from mmengine.runner import set_random_seed
    from mmseg.registry import MODELS

    set_random_seed(seed)
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(copy.deepcopy(student_cfg.model))
    model.init_weights()
    os.makedirs(osp.dirname(path), exist_ok=True)
    torch.save({'state_dict': model.state_dict()}, path)
    return path


def start_from(model: dict, checkpoint: str) -> None:
    """Initialise ``model`` (a segmentor dict) from ``checkpoint``."""
    model['init_cfg'] = dict(type='Pretrained', checkpoint=checkpoint)


# --------------------------------------------------------------------------
# running
# --------------------------------------------------------------------------
class _KeepMetrics(Hook):
    """Keeps the metrics of the last validation of a run."""

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self.metrics: Dict[str, float] = {}

    def after_val_epoch(self, runner, metrics=None) -> None:
        self.metrics = dict(metrics or {})


class _ConsoleFilter(logging.Filter):
    """Keeps mmengine's long environment/config/hook dumps out of the
    console (they still go to the log file in the work dir)."""

    PREFIXES = ('\n---', 'Config:', 'Hooks will be executed')

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not message.startswith(self.PREFIXES)


class _DemoRunner(Runner):

    def build_logger(self, *args, **kwargs):
        logger = super().build_logger(*args, **kwargs)
        for handler in logger.handlers:
            if not isinstance(handler, logging.FileHandler) and not any(
                    isinstance(f, _ConsoleFilter) for f in handler.filters):
                handler.addFilter(_ConsoleFilter())
        return logger


def run(cfg: Config) -> Dict[str, Any]:
    """Train ``cfg`` (validating at the end); return metrics and paths."""
    start = time.time()
    runner = _DemoRunner.from_cfg(cfg)
    keeper = _KeepMetrics()
    runner.register_hook(keeper)
    runner.train()
    iters = cfg.train_cfg.max_iters
    checkpoint = osp.join(cfg.work_dir, f'iter_{iters}.pth')
    if not osp.isfile(checkpoint):
        raise RuntimeError(f'no checkpoint was written at {checkpoint}')
    if 'mIoU' not in keeper.metrics:
        raise RuntimeError('the run returned no mIoU; metrics: '
                           f'{keeper.metrics}')
    return dict(
        metrics=keeper.metrics,
        checkpoint=checkpoint,
        seconds=round(time.time() - start, 1))


def _row(name: str, network: str, iters: int, result: dict) -> dict:
    metrics = result['metrics']
    return dict(
        model=name,
        network=network,
        iters=iters,
        mIoU=round(float(metrics['mIoU']), 2),
        mAcc=round(float(metrics.get('mAcc', float('nan'))), 2),
        aAcc=round(float(metrics.get('aAcc', float('nan'))), 2),
        train_seconds=result['seconds'],
        checkpoint=result['checkpoint'])


def format_table(rows: List[dict]) -> str:
    """The results table (Markdown), as the README quotes it."""
    header = ('| model | network | iterations | mIoU | mAcc | aAcc |\n'
              '|---|---|---:|---:|---:|---:|\n')
    lines = [
        f"| {r['model']} | {r['network']} | {r['iters']} | "
        f"{r['mIoU']:.2f} | {r['mAcc']:.2f} | {r['aAcc']:.2f} |"
        for r in rows
    ]
    return header + '\n'.join(lines) + '\n'


#: What the demo's result depends on besides its configs and their bases,
#: relative to the repository: a change in any of them makes a recorded run
#: stale (tests/test_docs/test_demo_table.py).
DEMO_CODE = ('mmtat/models', 'mmtat/datasets', 'mmtat/compat', 'mmtat/engine',
             'mmtat/checks/dry_run.py', 'mmtat/tools/demo.py',
             '_mmtat_startup.py')


def config_files(path: str) -> List[str]:
    """``path`` and every local base it inherits, recursively (``pkg::``
    bases belong to installed packages)."""
    found = [osp.abspath(path)]
    for base in Config._get_base_files(path):
        if '::' not in base:
            found += config_files(osp.join(osp.dirname(path), base))
    return list(dict.fromkeys(found))


def demo_inputs(configs: List[str]) -> List[str]:
    """The repository paths a demo run of ``configs`` depends on."""
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    files = {osp.relpath(osp.realpath(f), root)
             for path in configs for f in config_files(path)}
    return sorted(files) + list(DEMO_CODE)


def provenance(argv: Optional[List[str]],
               configs: List[str]) -> Dict[str, Any]:
    """What produced a run: the command, the commit of the checkout (and
    which of the files the run depends on differ from it), the machine."""
    import subprocess
    import sys

    from mmtat.utils import machine_info
    root = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    inputs = demo_inputs(configs)
    info: Dict[str, Any] = dict(
        command=' '.join([osp.basename(sys.argv[0])] +
                         list(sys.argv[1:] if argv is None else argv)),
        machine=machine_info('cpu'),
        inputs=inputs)

    def git(*args: str) -> Optional[str]:
        try:
            return subprocess.run(
                ['git', '-C', root, *args], capture_output=True, text=True,
                check=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None

    commit = git('rev-parse', 'HEAD')
    info['commit'] = commit
    if commit is not None:
        changed = git('status', '--porcelain', '--', *inputs)
        info['changed_inputs'] = sorted(
            line[3:] for line in (changed or '').splitlines())
    return info


def stage(text: str) -> None:
    print(f'\n{"=" * 72}\n{text}\n{"=" * 72}', flush=True)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Train a teacher, then the same student alone and '
        'distilled with TaT, KD and CWD from the same initial weights, on '
        'generated data (CPU, a few minutes), and compare them.')
    parser.add_argument('--work-dir', default=osp.join('work_dirs', 'demo'))
    parser.add_argument(
        '--iters', type=int, help='student iterations, alone and distilled '
        f'(default {DEFAULTS["iters"]}; --quick: {QUICK["iters"]})')
    parser.add_argument(
        '--teacher-iters', type=int, help='teacher iterations (default '
        f'{DEFAULTS["teacher_iters"]}; --quick: {QUICK["teacher_iters"]})')
    parser.add_argument(
        '--teacher-depth', type=int, choices=(50, 101), default=101,
        help='ResNet depth of the teacher: 101 as in the TaT config, or 50 '
        'to make the demo faster on a slow CPU')
    parser.add_argument(
        '--methods', nargs='+', choices=tuple(METHODS), default=list(METHODS),
        help='the distillation methods to compare with the student alone '
        f'(default: {" ".join(METHODS)})')
    parser.add_argument('--batch-size', type=int)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--quick', action='store_true',
        help='a tiny run (a few iterations on a few images) for tests')
    parser.add_argument('--baseline-config', default=BASELINE_CONFIG,
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    preset = QUICK if args.quick else DEFAULTS
    for key in ('iters', 'teacher_iters', 'batch_size'):
        if getattr(args, key) is None:
            setattr(args, key, preset[key])
        if getattr(args, key) < 1:
            parser.error(f'--{key.replace("_", "-")} must be >= 1')
    if 'TaT' not in args.methods:
        parser.error('--methods must include TaT (the pictures are of the '
                     'TaT student)')
    args.methods = [m for m in METHODS if m in args.methods]
    args.num_train = preset['num_train']
    args.num_val = preset['num_val']
    args.log_interval = min(preset['log_interval'], args.iters,
                            args.teacher_iters)
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    wall = time.time()
    warnings.filterwarnings('ignore', category=UserWarning)
    warnings.filterwarnings('ignore', category=DeprecationWarning)
    work_dir = osp.abspath(args.work_dir)
    origin = provenance(argv, [args.baseline_config] +
                        [METHODS[m] for m in args.methods])

    # one directory per data set, so that --quick, --seed ... can share a
    # work dir (a synthetic data set is never overwritten with another one)
    data_dir = osp.join(
        work_dir, 'data', f'voc_{args.num_train}+{args.num_val}_{CROP}px_'
        f'seed{args.seed}')
    data_root = make_synthetic_voc(
        data_dir, num_train=args.num_train,
        num_val=args.num_val, image_size=(CROP, CROP), seed=args.seed)
    print(f'synthetic Pascal VOC ({args.num_train} train / {args.num_val} '
          f'val images, {CROP}x{CROP}, classes: '
          f'{", ".join(VOC_CLASSES.values())}) in {data_root}', flush=True)

    enable_config_caches()  # the runs' configs are parsed and printed often
    baseline = Config.fromfile(args.baseline_config)
    distilled = {m: Config.fromfile(METHODS[m]) for m in args.methods}
    for cfg in distilled.values():
        check_same_student(baseline, cfg)
    tat = distilled['TaT']
    common = dict(data_root=data_root, batch_size=args.batch_size,
                  seed=args.seed, log_interval=args.log_interval)
    teacher_net = f'DeepLabV3 R{args.teacher_depth}-D8'
    student_net = 'DeepLabV3 R{}-D8'.format(baseline.model.backbone.depth)
    shrunk = args.teacher_depth != tat.model.teacher.backbone.depth
    if shrunk:
        print(f'NOTE: the teacher is shrunk to ResNet-{args.teacher_depth} '
              f'(the TaT config has ResNet-'
              f'{tat.model.teacher.backbone.depth}) to save time.')
    total = len(args.methods) + 2

    stage(f'[1/{total}] training teacher ({teacher_net}, '
          f'{args.teacher_iters} iters, batch {args.batch_size}, from random '
          'init)...')
    teacher_cfg = shrink_for_demo(
        teacher_config(baseline, tat, args.teacher_depth),
        work_dir=osp.join(work_dir, 'teacher'), iters=args.teacher_iters,
        name='teacher', **common)
    teacher = run(teacher_cfg)

    # every student starts from the same initial weights
    student_cfg = shrink_for_demo(
        baseline, work_dir=osp.join(work_dir, 'student'), iters=args.iters,
        name='student', **common)
    student_init = save_student_init(
        student_cfg, osp.join(work_dir, 'student_init.pth'), args.seed)
    start_from(student_cfg.model, student_init)

    results: Dict[str, dict] = {}
    for index, method in enumerate(args.methods, start=2):
        stage(f'[{index}/{total}] distilling the student ({student_net}) '
              f'from the teacher with {method}, {args.iters} iters, '
              f'{display_config(METHODS[method])}...')
        cfg = copy.deepcopy(distilled[method])
        if shrunk:
            cfg.model.teacher.backbone.depth = args.teacher_depth
        name = f'{method.lower()}_student'
        cfg = shrink_for_demo(cfg, work_dir=osp.join(work_dir, name),
                              iters=args.iters, name=name, **common)
        cfg.model.teacher_ckpt = teacher['checkpoint']
        start_from(cfg.model.architecture, student_init)
        results[method] = run(cfg)
        if method == 'TaT':
            tat_cfg = cfg

    # pictures of what the TaT student matches, on the first val image
    with open(osp.join(data_root, 'ImageSets', 'Segmentation',
                       'val.txt')) as f:
        image_id = f.readline().strip()
    pictures_dir = osp.join(work_dir, 'pictures')
    pictures = visualize_config(
        copy.deepcopy(tat_cfg), results['TaT']['checkpoint'],
        osp.join(data_root, 'JPEGImages', image_id + '.jpg'), pictures_dir,
        title='demo TaT student,')
    picture_files = [
        osp.join(pictures_dir, name) for pair in pictures['pairs'].values()
        for name in pair['files']
    ]

    stage(f'[{total}/{total}] training the student ({student_net}) without '
          f'distillation, {args.iters} iters, '
          f'{display_config(args.baseline_config)}...')
    student = run(student_cfg)

    rows = [
        _row('teacher', teacher_net, args.teacher_iters, teacher),
        _row('student alone', student_net, args.iters, student),
    ] + [
        _row(f'{method} student', student_net, args.iters, results[method])
        for method in args.methods
    ]
    note = DEMO_NOTE.format(
        teacher_iters=args.teacher_iters, iters=args.iters,
        num_train=args.num_train, num_val=args.num_val, crop=CROP)
    if shrunk:
        note += (f' The teacher was shrunk to ResNet-{args.teacher_depth}.')
    # SingleTeacherDistillValLoop also validates the teacher inside every
    # distillation run: it must agree with the teacher's own validation.
    teacher_in_runs = {
        method: round(float(result['metrics']['teacher.mIoU']), 2)
        for method, result in results.items()
        if 'teacher.mIoU' in result['metrics']
    }
    report = dict(
        rows=rows,
        note=note,
        teacher_mIoU_in_distillation_runs=teacher_in_runs,
        pictures=picture_files,
        data_root=data_root,
        configs=dict(
            baseline=display_config(args.baseline_config),
            **{method: display_config(METHODS[method])
               for method in args.methods}),
        settings=dict(
            crop=CROP, batch_size=args.batch_size, seed=args.seed,
            num_train=args.num_train, num_val=args.num_val,
            teacher_iters=args.teacher_iters, iters=args.iters,
            teacher_depth=args.teacher_depth, methods=args.methods,
            quick=args.quick),
        provenance=origin,
        wall_seconds=round(time.time() - wall, 1))

    table = format_table(rows)
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, 'demo_results.json'), 'w') as f:
        json.dump(report, f, indent=2, allow_nan=True)
    with open(osp.join(work_dir, 'demo_results.md'), 'w') as f:
        f.write('# mmtat demo: mIoU on the synthetic VOC val split\n\n')
        f.write(table + '\n' + note + '\n')
    stage('results (val split of the synthetic VOC data)')
    print(table)
    for method, miou in teacher_in_runs.items():
        print(f'The {method} run validated the teacher it loaded: '
              f'{miou:.2f} mIoU (stage 1: {rows[0]["mIoU"]:.2f}).')
    print(note)
    print('Pictures of what the TaT student matches (attention of chosen '
          'positions, PCA of the features): ' + ', '.join(picture_files))
    print(f'\nwall time {report["wall_seconds"]:.0f} s; written to '
          f'{osp.join(work_dir, "demo_results.json")} and .md', flush=True)
    return report


if __name__ == '__main__':
    main()
