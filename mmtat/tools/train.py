"""Train a model (a TaT distillation or a plain MMSegmentation config).

``python -m mmtat.tools.train CONFIG ...`` or ``python tools/train.py CONFIG
...``.  The command line follows MMSegmentation's ``tools/train.py``; mmtat
is imported first so that its compatibility fixes are in place before
MMRazor is loaded and its components are registered.

Before anything is built, the run is refused with one paragraph naming the
value and the fix when: ``--launcher`` names a launcher that did not start
this process (or a backend this machine cannot run), a ``--cfg-options``
key does not exist in the config, a checkpoint to load is missing, empty,
truncated or cannot be fetched, or a dataset folder / split file is missing
or empty.  After the model is built and before the first iteration:
``--resume`` of a checkpoint written for another config, and, for a
distillation config, a teacher checkpoint (``model.teacher_ckpt`` or an
``init_cfg`` one) whose weights do not fit the teacher
(``--allow-partial-teacher`` trains anyway).  The teacher's first
validation mIoU (a classifier's: top-1) is logged next to the one
published for its weights.
While it trains and validates, a sample that cannot be loaded or whose
labels are not classes stops the run with one paragraph naming the file
(:mod:`mmtat.engine.data_guard`).

A distillation whose teacher is frozen (not trained, norm layers in eval
mode) writes checkpoints without the teacher's weights, recording the file
they come from (``model.teacher_ckpt``: path, size, SHA-256); ``--resume``
and ``load_from`` of such a checkpoint take the teacher from that file and
are refused, naming it, if it is missing or its content changed
(:class:`~mmtat.engine.hooks.FrozenTeacherCheckpointHook`; its
``keep_teacher=True`` keeps the teacher in).

A loss that becomes NaN or infinite (or a trained weight) stops the run
at that iteration with one paragraph (the loss terms, the learning rate,
the newest checkpoint, which is from before it, and the usual causes);
nothing of the diverged state is saved
(:class:`~mmtat.engine.hooks.FiniteLossHook`).

The hooks that do this (:mod:`mmtat.engine.hooks`) are added to the run
unless its config lists them in ``custom_hooks`` (the shipped configs list
them all): a run has one of each.

For every config, whatever its hooks:

* one run per work dir: the run holds a lock in its work dir
  (:mod:`mmtat.engine.work_dir_lock`; rank 0 of a distributed run) that
  the operating system gives up when the process ends, however it ends;
  a second run in that work dir stops before anything is built, naming
  the live run (process, host, start, command);

* checkpoints are written atomically (temporary file + rename), so a run
  killed at any moment leaves complete checkpoints only, and
  ``--resume`` continues from the newest complete one;
* a full disk (a checkpoint, the log, the visualizer's files) ends the run
  with one paragraph: the file, the space left, what a checkpoint needs,
  the newest complete checkpoint and the ``--resume`` command that
  continues from it (:mod:`mmtat.engine.disk_space`);
* SIGTERM (slurm's notice before preemption) saves a checkpoint at the end
  of the current iteration and stops with exit status 143; the same command
  with ``--resume`` continues from it.  In a distributed run every rank
  stops after the same iteration; the SIGTERM that torchrun's agent or
  srun forwards right after the job's own is the same request, a second
  one after :data:`mmtat.engine.termination.SECOND_SIGTERM_AFTER_S`
  seconds ends the process at once.
"""
import argparse
import contextlib
import os
import os.path as osp
import shlex
import sys
from typing import Any, Iterator, List, Optional

import torch
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

import mmtat  # noqa: F401  (applies mmtat.compat, registers TaT modules)
from mmtat.checks import (
    add_cfg_options_argument,
    apply_cfg_options,
    check_checkpoint_file,
    check_datasets,
    check_launcher,
    check_local_checkpoints,
    check_remote_files,
    end_distributed,
    latest_checkpoint,
    published_teacher_result,
    setup_cpu_distributed,
)
from mmtat.checks.teacher_record import check_left_out_teacher
from mmtat.engine import (
    DataGuardHook,
    FiniteLossHook,
    FrozenTeacherCheckpointHook,
    NonEmptyDataHook,
    PreemptionHook,
    ResumeFitHook,
    TeacherCheckpointHook,
    TeacherMetricHook,
    TrainingDiverged,
    TrainingPreempted,
    check_data_command,
    install_termination_handler,
    remove_partial_files,
    use_atomic_checkpoints,
)
from mmtat.engine.disk_space import (
    disk_full_paragraph,
    file_being_written,
    is_disk_full,
    raise_on_full_log,
)
from mmtat.engine.work_dir_lock import (
    current_command,
    hold_work_dir,
    launcher_rank,
)
from mmtat.tools._common import (
    add_hook,
    load_config,
    remove_refused_run,
    reported_errors,
    set_amp,
    set_work_dir,
)
from mmtat.utils import RunRefused

#: Exit status after SIGTERM (128 + 15, as a process killed by it): the run
#: stopped early with a checkpoint, it did not finish.
PREEMPTED_EXIT = 143


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a segmentor or a '
                                     'distillation algorithm')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint; without a path, resume from '
        'the newest complete checkpoint in the work dir (start from the '
        'beginning when there is none)')
    parser.add_argument(
        '--allow-partial-teacher',
        action='store_true',
        help='train even if weights of the teacher are missing from its '
        'checkpoint (model.teacher_ckpt or an init_cfg checkpoint) or have '
        'another shape (they keep their initial values)')
    parser.add_argument(
        '--amp',
        action='store_true',
        default=False,
        help='enable automatic-mixed-precision training')
    add_cfg_options_argument(parser)
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank (torch>=2.0) or
    # --local_rank; torchrun sets LOCAL_RANK instead.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def _set_resume(cfg, resume: Optional[str]) -> None:
    if resume is None:
        return
    if resume != 'auto':
        check_checkpoint_file(
            resume, '--resume',
            fix='Give a complete checkpoint, or --resume without a path for '
            'the newest complete checkpoint of the work dir.')
        cfg.resume = True
        cfg.load_from = resume
        return
    path, notes = latest_checkpoint(cfg.work_dir)
    for note in notes:
        print(f'--resume: {note}', flush=True)
    if path is None:
        # mmengine would skip the config's own load_from here; a first run
        # of a requeued job must start as it would without --resume
        print(f'--resume: no complete checkpoint in {cfg.work_dir}; '
              'training starts from the beginning.', flush=True)
        cfg.resume = False
        return
    print(f'--resume: continuing from {path}', flush=True)
    cfg.resume = True
    cfg.load_from = path


def _resume_command(command: str) -> str:
    """``command`` with ``--resume`` (no path: the newest complete
    checkpoint of the work dir) in place of any ``--resume [PATH]``."""
    words = shlex.split(command)
    kept, skip = [], False
    for i, word in enumerate(words):
        if skip:
            skip = False
            continue
        if word.startswith('--resume='):
            continue
        if word == '--resume':
            following = words[i + 1] if i + 1 < len(words) else '-'
            # --resume takes a path (nargs='?'): a checkpoint, not the
            # next option or a --cfg-options item
            skip = following.endswith(('.pth', '.pt', '.ckpt'))
            continue
        kept.append(word)
    return shlex.join(kept + ['--resume'])


def _checkpoint_bytes(runner: Any) -> Optional[int]:
    """About what a checkpoint of ``runner`` takes: its model's state
    and its optimizer's tensors."""
    if runner is None:
        return None
    total = 0
    try:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        tensors = list(model.state_dict().values())
        state = runner.optim_wrapper.state_dict()
    except Exception:  # a runner not built far enough
        return None

    def walk(node: Any) -> None:
        if torch.is_tensor(node):
            tensors.append(node)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value)

    walk(state)
    for tensor in tensors:
        if torch.is_tensor(tensor):
            total += tensor.numel() * tensor.element_size()
    return total


@contextlib.contextmanager
def _full_disk_reported(work_dir: str, command: str,
                        built: dict) -> Iterator[None]:
    """A write that found no space ends the run with one paragraph
    (:mod:`mmtat.engine.disk_space`), not a traceback."""
    try:
        yield
    except OSError as err:
        if not is_disk_full(err):
            raise
        checkpoint, _ = latest_checkpoint(work_dir)
        size = None
        if checkpoint is None and not str(
                file_being_written(err)).endswith('.pth'):
            size = _checkpoint_bytes(built.get('runner'))
        built.clear()
        raise SystemExit('ERROR: ' + disk_full_paragraph(
            err, work_dir, _resume_command(command) + '.',
            checkpoint=checkpoint, checkpoint_size=size)) from None


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    # Before any data loader forks its workers (they inherit the handler).
    install_termination_handler()

    with reported_errors(), contextlib.ExitStack() as held:
        cfg = load_config(args.config)
        cfg.launcher = args.launcher
        apply_cfg_options(cfg, args.cfg_options)
        check_launcher(cfg, tool='train')

        set_work_dir(cfg, args.work_dir, args.config)
        work_dir_existed = osp.isdir(cfg.work_dir)
        command = current_command(argv, 'mmtat.tools.train')
        # a full disk (checkpoint, log, visualizer files): one paragraph
        built: dict = {}
        held.enter_context(_full_disk_reported(cfg.work_dir, command, built))
        # one run per work dir, held by rank 0 until this process ends
        rank_zero = launcher_rank(cfg.launcher) == 0
        held.enter_context(hold_work_dir(cfg.work_dir, enabled=rank_zero,
                                         command=command))

        if args.amp:
            set_amp(cfg)
        _set_resume(cfg, args.resume)

        # Stop at once, naming each file or folder and the fix, for what the
        # run would otherwise find only after minutes (or never).
        check_left_out_teacher(cfg)
        check_remote_files(cfg, mode='train')
        check_local_checkpoints(cfg, mode='train')
        check_datasets(cfg, mode='train')

        use_atomic_checkpoints(cfg)
        if cfg.get('resume') and rank_zero:
            remove_partial_files(cfg.work_dir)
        # DDP without CUDA (gloo): mmtat/checks/cpu_dist.py.
        setup_cpu_distributed(cfg)

        runner = Runner.from_cfg(cfg)
        built['runner'] = runner
        raise_on_full_log(runner.logger)
        # the shipped configs list these hooks in custom_hooks already
        add_hook(runner, NonEmptyDataHook())
        data_guard = add_hook(runner, DataGuardHook(
            check_data_command(args.config, bool(args.cfg_options))))
        add_hook(runner, PreemptionHook())
        add_hook(runner, FiniteLossHook())
        add_hook(runner, FrozenTeacherCheckpointHook())
        if cfg.get('resume'):
            add_hook(runner, ResumeFitHook(cfg.load_from, args.config))
        teacher_ckpt = cfg.model.get('teacher_ckpt')
        add_hook(runner, TeacherCheckpointHook(
            teacher_ckpt, allow_partial=args.allow_partial_teacher))
        add_hook(runner, TeacherMetricHook(
            published_teacher_result(teacher_ckpt)))
        preempted = diverged = None
        try:
            data_guard.build_train_dataloader(runner)
            runner.train()
        except RunRefused:
            remove_refused_run(runner, work_dir_existed)
            raise
        except TrainingPreempted as stop:
            # not the exception itself: its traceback holds the Runner
            preempted = (stop.iteration, stop.checkpoint)
        except TrainingDiverged as stop:
            diverged = stop.message
        # every rank got here: finished, or stopped at the same iteration
        del runner, data_guard
        built.clear()
        end_distributed()
        if diverged is not None:
            raise SystemExit(f'ERROR: {diverged}')
        if preempted is not None:
            world = int(os.environ.get('WORLD_SIZE', '1'))
            rank = (f' (rank {os.environ.get("RANK", "0")} of {world})'
                    if world > 1 else '')
            iteration, checkpoint = preempted
            print(f'Stopped by SIGTERM after iteration {iteration}; '
                  f'checkpoint {checkpoint}. Continue with the same '
                  f'command and --resume.{rank}', flush=True)
            sys.exit(PREEMPTED_EXIT)


if __name__ == '__main__':
    main()
