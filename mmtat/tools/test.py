"""Evaluate a checkpoint (distillation or plain MMSegmentation / MMPretrain
config).

``python -m mmtat.tools.test CONFIG CHECKPOINT ...`` or ``python
tools/test.py CONFIG CHECKPOINT ...``.  Refused before anything is built,
with one paragraph naming the value and the fix: a ``--cfg-options`` key the
config does not have, a missing / empty / truncated checkpoint (or one that
cannot be fetched), a missing or empty test dataset, a ``--launcher`` that
did not start this process (or a backend this machine cannot run).
Refused after the model is built and before anything is evaluated: a
checkpoint whose weights do not fit the evaluated model (e.g. a
distillation checkpoint with a plain student config), which mmengine would
load partially, only warning, and score randomly initialised layers;
``--allow-partial-checkpoint`` evaluates it anyway.  While it evaluates, a
sample that cannot be loaded or whose labels are not classes stops it with
one paragraph naming the file (:mod:`mmtat.engine.data_guard`).  The
checks after the model is built are hooks (:mod:`mmtat.engine.hooks`),
added unless the config lists them in ``custom_hooks`` (the shipped
configs do): a run has one of each.

At the end it prints the figures of the config's task in one line: the
mIoU of a segmentation config, the top-1 and top-5 accuracy of a
classification one (MMPretrain's ``Accuracy`` evaluator of the config).
``--out`` keeps the predictions: a segmentation config's maps as images in
that directory, a classification config's predictions as a pickle file
(mmengine's ``DumpResults``, as MMPretrain's own test tool does).
"""
import argparse
import os
import os.path as osp
from typing import List, Optional

from mmengine.config import Config
from mmengine.runner import Runner

import mmtat  # noqa: F401  (applies mmtat.compat, registers TaT modules)
from mmtat.checks import (
    REMOTE_PREFIXES,
    add_cfg_options_argument,
    apply_cfg_options,
    check_checkpoint_file,
    check_datasets,
    check_launcher,
    check_local_checkpoints,
    check_remote_files,
    end_distributed,
    setup_cpu_distributed,
)
from mmtat.checks.task import (
    CLASSIFICATION,
    TASK_METRICS,
    config_task,
    main_metric,
)
from mmtat.engine import (
    CheckpointFitHook,
    DataGuardHook,
    FrozenTeacherCheckpointHook,
    NonEmptyDataHook,
    check_data_command,
)
from mmtat.tools._common import (
    add_hook,
    load_config,
    remove_refused_run,
    reported_errors,
    set_work_dir,
)
from mmtat.utils import InputError, RunRefused, display_config


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir',
        help='directory for the evaluation metric logs')
    parser.add_argument(
        '--out',
        type=str,
        help='segmentation: directory to save the predicted maps as '
        'images; classification: .pkl file to save the predictions to')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='directory where painted images will be saved')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument(
        '--allow-partial-checkpoint',
        action='store_true',
        help='evaluate even if weights of the model are missing from the '
        'checkpoint or have another shape (they keep their initial values)')
    add_cfg_options_argument(parser)
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument(
        '--tta', action='store_true', help='test time augmentation')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def trigger_visualization_hook(cfg: Config,
                               args: argparse.Namespace) -> Config:
    default_hooks = cfg.default_hooks
    if 'visualization' not in default_hooks:
        raise InputError(
            '--show / --show-dir need a VisualizationHook in the config\'s '
            'default_hooks (MMSegmentation\'s _base_/default_runtime.py '
            'has one); this config has none.')
    visualization_hook = default_hooks['visualization']
    visualization_hook['draw'] = True
    if args.show:
        visualization_hook['show'] = True
        visualization_hook['wait_time'] = args.wait_time
    if args.show_dir:
        visualizer = cfg.visualizer
        visualizer['save_dir'] = args.show_dir
    return cfg


def set_out(cfg: Config, out: str, task: str) -> None:
    """``--out``: a segmentation evaluator writes the predicted maps into
    directory ``out``; a classification run adds mmengine's
    ``DumpResults`` metric, which pickles the predictions to file
    ``out``."""
    if task == CLASSIFICATION:
        if not out.endswith(('.pkl', '.pickle')):
            raise InputError(f'--out {out}: a classification config dumps '
                             'its predictions to a pickle file; give a path '
                             'ending in .pkl.')
        evaluator = cfg.test_evaluator
        metrics = list(evaluator) if isinstance(evaluator, (list, tuple)) \
            else [evaluator]
        cfg.test_evaluator = metrics + [
            dict(type='DumpResults', out_file_path=out)]
        return
    cfg.test_evaluator['output_dir'] = out
    cfg.test_evaluator['keep_results'] = True


def results_line(config: str, checkpoint: str, metrics: Optional[dict],
                 task: str) -> str:
    """The test's figures in the metrics of the config's task (``top-1
    70.12, top-5 89.40`` or ``mIoU 75.20``), one line."""
    figures = [
        f'{metric.name} {float(metrics[metric.key]):.2f}'
        for metric in TASK_METRICS[task] if metric.key in (metrics or {})
    ]
    return (f'Test of {display_config(config)} with {checkpoint}: ' +
            (', '.join(figures) if figures else
             f'no {main_metric(task).name} in the metrics') + '.')


def _check_checkpoint_argument(path: str) -> None:
    if path.startswith(REMOTE_PREFIXES) or '://' in path:
        return  # fetched by mmengine: check_remote_files looks at it
    check_checkpoint_file(
        path, 'CHECKPOINT',
        fix='Give the checkpoint a training run wrote (e.g. '
        'work_dirs/<config>/iter_40000.pth) or a model-zoo URL.')


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)

    with reported_errors():
        cfg = load_config(args.config)
        cfg.launcher = args.launcher
        apply_cfg_options(cfg, args.cfg_options)
        check_launcher(cfg, tool='test')

        set_work_dir(cfg, args.work_dir, args.config)

        _check_checkpoint_argument(args.checkpoint)
        cfg.load_from = args.checkpoint

        if args.show or args.show_dir:
            cfg = trigger_visualization_hook(cfg, args)

        if args.tta:
            if 'tta_pipeline' not in cfg or 'tta_model' not in cfg:
                raise InputError(
                    '--tta needs tta_pipeline and tta_model in the config '
                    '(MMSegmentation\'s dataset bases define them); this '
                    'config lacks ' + ' and '.join(
                        k for k in ('tta_pipeline', 'tta_model')
                        if k not in cfg) + '.')
            cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
            cfg.tta_model.module = cfg.model
            cfg.model = cfg.tta_model

        task = config_task(cfg)
        if args.out is not None:
            set_out(cfg, args.out, task)

        # Stop at once, naming each file or folder and the fix.
        check_remote_files(cfg, mode='test')
        check_local_checkpoints(cfg, mode='test')
        check_datasets(cfg, mode='test')

        # DDP without CUDA (gloo): mmtat/checks/cpu_dist.py.
        setup_cpu_distributed(cfg)

        work_dir_existed = osp.isdir(cfg.work_dir)
        runner = Runner.from_cfg(cfg)
        # the shipped configs list these hooks in custom_hooks already
        add_hook(runner, CheckpointFitHook(
            args.checkpoint, allow_partial=args.allow_partial_checkpoint))
        # a checkpoint saved without its frozen teacher: from teacher_ckpt
        add_hook(runner, FrozenTeacherCheckpointHook())
        add_hook(runner, NonEmptyDataHook())
        add_hook(runner, DataGuardHook(
            check_data_command(args.config, bool(args.cfg_options))))
        try:
            metrics = runner.test()
        except RunRefused:
            remove_refused_run(runner, work_dir_existed)
            raise
        del runner
        end_distributed()  # every rank tested: the group goes in order
        if os.environ.get('RANK', '0') == '0':
            print(results_line(args.config, args.checkpoint, metrics, task),
                  flush=True)


if __name__ == '__main__':
    main()
