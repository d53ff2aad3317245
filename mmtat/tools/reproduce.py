"""Reproduce a results table: run every config of it, collect the results.

``python -m mmtat.tools.reproduce TABLE ...`` or ``python tools/reproduce.py
TABLE ...``.  A table is a group of configs that one results table compares
(``Metadata.Table`` in ``configs/tat/metafile.yml`` and
``configs/baselines/metafile.yml``; ``--list`` shows them): a dataset's
student alone, TaT and the baselines, and any teacher that has to be trained
first.  Each config trains in ``WORK_DIR/TABLE/<name>`` with the repository's
own launchers::

    python tools/reproduce.py cityscapes --gpus 4                 # torchrun
    python tools/reproduce.py camvid --gpus 1 --concurrent 3      # 3 at once
    python tools/reproduce.py voc --gpus 8 --launcher slurm --partition P

Two ``tools/reproduce.py`` of one table (e.g. a second one started by
mistake, or on another node sharing the file system) never train the same
run at once: each run is held by the tool that runs it (a lock in its
folder that the operating system releases when that tool ends); the other
waits for it (``[wait]``), takes the runs nobody holds meanwhile, and skips
a run the first finished.

Teachers to train first run before the configs that load them, which get
``model.teacher_ckpt`` pointed at the teacher's last checkpoint.  A run that
finished (``done.json`` in its folder) is skipped; one that was interrupted
(a complete checkpoint, no ``done.json``) resumes with ``--resume``; so the
same command continues after any interruption, also of this tool (Ctrl-C or
SIGTERM stop the runs, which save a checkpoint first).  At the end
the runs are collected (:mod:`mmtat.checks.results`, as ``tools/benchmark.py
--collect`` does) into ``WORK_DIR/TABLE/accuracy.{json,md}`` and
``accuracy.png``, the student mIoU against GPU-hours per method.

``--only NAME ...`` runs some configs of a table (their names as ``--list``
shows them) and the teachers they load, e.g. to redo one row::

    python tools/reproduce.py camvid --only tat_deeplabv3_r101_r18_camvid

and the table collected then holds every finished run of the table.

``--dry-run`` rehearses the whole table on the CPU: every config trains two
iterations on a generated dataset of its layout (``mmtat.checks.dry_run``),
with the same ordering, teacher hand-over, skipping, resuming and
collection.
"""
import argparse
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time
from typing import Any, Dict, List, Optional

import yaml

from mmtat.checks.checkpoint_files import latest_checkpoint
from mmtat.engine.atomic_io import atomic_write
from mmtat.engine.disk_space import disk_full_paragraph, is_disk_full
from mmtat.engine.work_dir_lock import (
    WorkDirLock,
    current_command,
    describe_holder,
)
from mmtat.tools._common import reported_errors
from mmtat.utils.errors import InputError, did_you_mean
from mmtat.utils.package_files import mim_dir

#: the metafiles that list the tables, relative to mmtat/.mim
METAFILES = ('configs/tat/metafile.yml', 'configs/baselines/metafile.yml')
DONE = 'done.json'
#: the lock of the tools/reproduce.py that runs a config, in its folder
REPRODUCE_LOCK = '.mmtat-reproduce.lock'


# --------------------------------------------------------------------------
# the tables
# --------------------------------------------------------------------------
def load_tables() -> Dict[str, List[Dict[str, Any]]]:
    """table name -> its models (metafile entries), in metafile order."""
    tables: Dict[str, List[Dict[str, Any]]] = {}
    for rel in METAFILES:
        with open(osp.join(mim_dir(), rel)) as f:
            for model in yaml.safe_load(f)['Models']:
                for table in model['Metadata'].get('Table', []):
                    tables.setdefault(table, []).append(model)
    return tables


class Job:
    """One config of the table and its state on disk."""

    def __init__(self, model: Dict[str, Any], table_dir: str) -> None:
        self.name = model['Name']
        self.config = osp.join(mim_dir(), model['Config'])
        self.config_label = model['Config']
        self.is_teacher = model.get('In Collection') == 'Teacher'
        self.work_dir = osp.abspath(osp.join(table_dir, self.name))
        self.cfg_options: List[str] = []
        self.depends_on: Optional['Job'] = None
        self.process: Optional[subprocess.Popen] = None
        self.port: Optional[int] = None
        self.log_file: Any = None
        self.started = 0.0
        self.lock: Optional[WorkDirLock] = None

    def claim(self) -> Optional[Dict[str, Any]]:
        """Hold the run for this tool; the holder's details if another
        tools/reproduce.py holds it (None: held here now)."""
        if self.lock is None:
            self.lock = WorkDirLock(self.work_dir, name=REPRODUCE_LOCK,
                                    command=current_command(),
                                    what='tools/reproduce.py')
        if self.lock.try_acquire():
            return None
        return self.lock.holder()

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()

    @property
    def done(self) -> bool:
        return osp.isfile(osp.join(self.work_dir, DONE))

    def final_checkpoint(self) -> Optional[str]:
        done = osp.join(self.work_dir, DONE)
        if not osp.isfile(done):
            return None
        with open(done) as f:
            return json.load(f).get('checkpoint')

    def interrupted(self) -> bool:
        """Not finished, but a complete checkpoint to resume from."""
        if self.done:
            return False
        return latest_checkpoint(self.work_dir)[0] is not None


def plan(models: List[Dict[str, Any]], table_dir: str) -> List[Job]:
    """Jobs in run order (teachers first) with their teacher hand-over."""
    from mmengine.config import Config
    jobs = [Job(m, table_dir) for m in models]
    teachers = {}
    for job in jobs:
        if job.is_teacher:
            cfg = Config.fromfile(job.config)
            iters = cfg.train_cfg.max_iters
            # where the distillation configs expect it (see their _base_)
            name = osp.splitext(osp.basename(job.config))[0]
            teachers[f'work_dirs/{name}/iter_{iters}.pth'] = job
    for job in jobs:
        if job.is_teacher:
            continue
        cfg = Config.fromfile(job.config)
        ckpt = cfg.model.get('teacher_ckpt') if 'model' in cfg else None
        if ckpt in teachers:
            job.depends_on = teachers[ckpt]
    return sorted(jobs, key=lambda j: not j.is_teacher)


def select(jobs: List[Job], names: List[str], table: str) -> List[Job]:
    """The jobs named ``names`` and the teachers they load, in run order
    (``--only``)."""
    by_name = {job.name: job for job in jobs}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise InputError(
            f'--only {" ".join(unknown)}: not a config of table {table!r} '
            f'(its configs: {", ".join(by_name)}).' +
            did_you_mean(unknown, list(by_name), n=2, cutoff=0.6))
    wanted = set(names)
    for name in names:
        teacher = by_name[name].depends_on
        if teacher is not None:
            wanted.add(teacher.name)
    return [job for job in jobs if job.name in wanted]


# --------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------
def _tools_dir() -> str:
    return osp.join(mim_dir(), 'tools')


def train_command(job: Job, args: argparse.Namespace, port: int,
                  config: str) -> List[str]:
    extra = ['--work-dir', job.work_dir]
    if job.interrupted():
        extra.append('--resume')
    options = list(args.cfg_options or []) + job.cfg_options
    if options:
        extra += ['--cfg-options'] + options
    tools = _tools_dir()
    if args.dry_run or args.launcher == 'none':
        return [sys.executable, osp.join(tools, 'train.py'), config] + extra
    if args.launcher == 'pytorch':
        return ['env', f'PORT={port}', 'bash',
                osp.join(tools, 'dist_train.sh'), config,
                str(args.gpus)] + extra
    return ['env', f'GPUS={args.gpus}',
            f'GPUS_PER_NODE={min(args.gpus, args.gpus_per_node)}', 'bash',
            osp.join(tools, 'slurm_train.sh'), args.partition,
            f'{args.table}_{job.name}', config] + extra


def dry_run_config(job: Job, data_dir: str) -> str:
    """Write the two-iteration CPU version of the job's config."""
    from mmengine.config import Config

    from mmtat.checks.dry_run import make_dry_run_dataset, shrink_for_dry_run
    cfg = Config.fromfile(job.config)
    data_root = make_dry_run_dataset(cfg, data_dir)
    small = shrink_for_dry_run(
        cfg, data_root=data_root, work_dir=job.work_dir, iters=2,
        name=f'reproduce_{job.name}')
    # a checkpoint every iteration: an interrupted dry run resumes too
    small.default_hooks.checkpoint.interval = 1
    small.default_hooks.checkpoint.max_keep_ckpts = 2
    os.makedirs(job.work_dir, exist_ok=True)
    path = osp.join(job.work_dir, 'dry_run_config.py')
    small.dump(path)
    return path


# --------------------------------------------------------------------------
# running
# --------------------------------------------------------------------------
def rendezvous_port(running: List[Job], base_port: int) -> int:
    """The lowest port from ``base_port`` that no running job uses (each
    distributed run needs its own rendezvous port)."""
    used = {job.port for job in running}
    port = base_port
    while port in used:
        port += 1
    return port


def _start(job: Job, args: argparse.Namespace, port: int,
           data_dir: str) -> None:
    if job.depends_on is not None:
        teacher = job.depends_on.final_checkpoint()
        job.cfg_options = [f'model.teacher_ckpt={teacher}']
    config = dry_run_config(job, data_dir) if args.dry_run else job.config
    command = train_command(job, args, port, config)
    os.makedirs(job.work_dir, exist_ok=True)
    job.log_file = open(osp.join(job.work_dir, 'reproduce.log'), 'a')
    job.log_file.write(f'$ {" ".join(command)}\n')
    job.log_file.flush()
    job.started = time.time()
    job.port = port
    job.process = subprocess.Popen(
        command, stdout=job.log_file, stderr=subprocess.STDOUT,
        start_new_session=True)


def _finish(job: Job, code: int) -> None:
    job.log_file.close()
    try:
        if code != 0:
            raise RuntimeError(
                f'{job.name} ({job.config_label}) failed with exit code '
                f'{code}; its output: '
                f'{osp.join(job.work_dir, "reproduce.log")}. Run the same '
                'command again to resume it.')
        checkpoint, _ = latest_checkpoint(job.work_dir)
        record = json.dumps(dict(config=job.config_label,
                                 checkpoint=checkpoint,
                                 seconds=time.time() - job.started), indent=2)
        done = osp.join(job.work_dir, DONE)
        try:
            atomic_write(done, record.encode())
        except OSError as err:
            if not is_disk_full(err):
                raise
            raise SystemExit('ERROR: ' + disk_full_paragraph(
                err, job.work_dir, f'{current_command()} (it writes '
                f'{DONE} of {job.name} and goes on with the rest).',
                checkpoint=checkpoint, checkpoint_size=osp.getsize(
                    checkpoint) if checkpoint else None,
                what=f'tools/reproduce.py ({job.name} finished training)')
            ) from None
    finally:
        job.release()


def _stop_all(running: List[Job]) -> None:
    """SIGTERM to every run's process group (they checkpoint and stop)."""
    for job in running:
        try:
            os.killpg(job.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for job in running:
        job.process.wait()
        job.log_file.close()
        job.release()


def run_jobs(jobs: List[Job], args: argparse.Namespace,
             data_dir: str) -> None:
    pending = [j for j in jobs if not j.done]
    for job in jobs:
        if job.done:
            print(f'[skip] {job.name}: finished ({job.work_dir}/{DONE})',
                  flush=True)
    running: List[Job] = []
    # runs that another tools/reproduce.py holds: waited for, never started
    # here at the same time
    elsewhere: Dict[str, str] = {}
    total, finished = len(pending), 0
    base_port = args.port
    try:
        while pending or running:
            for job in [j for j in pending if j.done]:
                pending.remove(job)
                elsewhere.pop(job.name, None)
                finished += 1
                print(f'[{finished}/{total}] skip {job.name}: finished by '
                      f'another tools/reproduce.py ({job.work_dir}/{DONE})',
                      flush=True)
            ready = [j for j in pending
                     if j.depends_on is None or j.depends_on.done]
            while ready and len(running) < args.concurrent:
                job = ready.pop(0)
                holder = job.claim()
                if holder is not None:
                    if job.name not in elsewhere:
                        print(f'[wait] {job.name}: run by another '
                              f'tools/reproduce.py ({describe_holder(holder)}'
                              '); this one waits for it and does not start '
                              'it too', flush=True)
                    elsewhere[job.name] = describe_holder(holder)
                    continue
                elsewhere.pop(job.name, None)
                if job.done:  # finished by the other one meanwhile
                    job.release()
                    continue
                pending.remove(job)
                port = rendezvous_port(running, base_port)
                state = 'resuming' if job.interrupted() else 'starting'
                _start(job, args, port, data_dir)
                running.append(job)
                print(f'[{finished + len(running)}/{total}] {state} '
                      f'{job.name} ({job.config_label}) -> {job.work_dir}',
                      flush=True)
            if not pending and not running:
                break  # the last ones were finished by the other one
            if not running and not elsewhere:
                blocked = ', '.join(j.name for j in pending)
                raise RuntimeError(f'cannot start {blocked}: its teacher '
                                   'did not finish')
            time.sleep(args.poll)
            for job in list(running):
                code = job.process.poll()
                if code is None:
                    continue
                running.remove(job)
                _finish(job, code)
                finished += 1
                print(f'[{finished}/{total}] finished {job.name} in '
                      f'{(time.time() - job.started) / 60:.1f} min',
                      flush=True)
    except BaseException:
        # Ctrl-C, SIGTERM, a failed run: the others checkpoint and stop
        _stop_all(running)
        raise


def collect(jobs: List[Job], table_dir: str) -> None:
    from mmtat.checks.results import write_accuracy_report
    print(write_accuracy_report([j.work_dir for j in jobs], table_dir))
    print(f'written: {table_dir}/accuracy.json, accuracy.md, accuracy.png')


# --------------------------------------------------------------------------
def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Run every config of a results table and collect the '
        'accuracy table and the accuracy-vs-GPU-hours plot.')
    parser.add_argument('table', nargs='?', help='table name (--list)')
    parser.add_argument('--list', action='store_true',
                        help='list the tables and their configs')
    parser.add_argument('--gpus', type=int, default=1,
                        help='GPUs per run (default 1)')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm'], default=None,
        help='none: python tools/train.py (one GPU or the CPU); pytorch: '
        'tools/dist_train.sh; slurm: tools/slurm_train.sh. Default: none '
        'for --gpus 1, pytorch otherwise')
    parser.add_argument('--partition', help='slurm partition')
    parser.add_argument('--gpus-per-node', type=int, default=8)
    parser.add_argument('--concurrent', type=int, default=1,
                        help='runs at the same time (default 1)')
    parser.add_argument('--work-dir', default='work_dirs/reproduce')
    parser.add_argument(
        '--only', nargs='+', metavar='NAME',
        help='run only these configs of the table (names from --list) and '
        'the teachers they load')
    parser.add_argument('--port', type=int, default=29500,
                        help='first torchrun port (one per concurrent run)')
    parser.add_argument(
        '--cfg-options', nargs='+', metavar='KEY=VALUE',
        help='passed to every run (e.g. train_dataloader.batch_size=2)')
    parser.add_argument(
        '--dry-run', action='store_true',
        help='two iterations per config on generated data, on the CPU')
    parser.add_argument('--poll', type=float, default=2.0,
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.launcher is None:
        args.launcher = 'none' if args.gpus == 1 else 'pytorch'
    if not args.list and not args.table:
        parser.error('give a TABLE (see --list)')
    if args.gpus < 1 or args.concurrent < 1:
        parser.error('--gpus and --concurrent must be >= 1')
    if args.launcher == 'slurm' and not args.partition:
        parser.error('--launcher slurm needs --partition')
    if args.launcher == 'none' and args.gpus > 1:
        parser.error('--gpus > 1 needs --launcher pytorch or slurm')
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    tables = load_tables()
    if args.list:
        for name, models in sorted(tables.items()):
            print(f'{name}:')
            for model in models:
                print(f'    {model["Name"]:<48} {model["Config"]}')
        return
    table_dir = osp.join(args.work_dir, args.table)
    with reported_errors():
        if args.table not in tables:
            raise InputError(
                f'no table {args.table!r}; tables: '
                f'{", ".join(sorted(tables))}.' +
                did_you_mean(args.table, list(tables), n=3, cutoff=0.6))
        jobs = plan(tables[args.table], table_dir)
        runs = select(jobs, args.only, args.table) if args.only else jobs
    print(f'{args.table}: {len(runs)} runs in {table_dir}' +
          (f' (--only: {len(runs)} of {len(jobs)})' if args.only else '') +
          (' (dry run: 2 iterations each on generated data, CPU)'
           if args.dry_run else ''), flush=True)
    run_jobs(runs, args, osp.join(args.work_dir, 'dry_run_data'))
    # every finished run of the table: --only adds its rows to the others
    collect([job for job in jobs if job.done], table_dir)


if __name__ == '__main__':
    main()
