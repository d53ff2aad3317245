"""Check every image and label of a config's datasets before a run.

``python tools/misc/check_data.py CONFIG [--split train val test] [--nproc
N] [--out report.json] [--cfg-options ...]`` or ``python -m
mmtat.tools.check_data ...``.

Each sample of each dataset the config's data loaders name (training,
validation, test; a dataset shared by two of them once) is decoded once by
the dataset's own loading transforms (the run's backends,
``reduce_zero_label``, ``label_map``), in several processes, and checked
(:mod:`mmtat.checks.data_check`): label values that are neither one of the
classes nor the ignore index, labels of another size than their image or
with more than one channel, missing, truncated or unreadable files, empty
splits and broken layouts; for a classification dataset (MMPretrain's
``ImageNet``), labels outside the classes (with the line of the annotation
file that gives them), annotation lines naming missing images, and
malformed annotation lines.  The report lists each problem with the file
and the values, then a count per kind, on stdout (the progress bar is on
stderr); ``--out`` writes it as JSON.  Exit status 0 when nothing was
found, 1 (one ``ERROR:`` paragraph at the end) when something was.
"""
import argparse
import json
import os
import os.path as osp
from collections import Counter
from typing import Any, Dict, List, Optional

import mmtat  # noqa: F401  (applies mmtat.compat, registers CamVidDataset)
from mmtat.checks import add_cfg_options_argument, apply_cfg_options
from mmtat.checks.data_check import (
    DATA_LOADERS,
    PROBLEM_KINDS,
    DatasetReport,
    check_config_data,
    default_nproc,
    leaf_dataset_cfgs,
)
from mmtat.tools._common import load_config, reported_errors
from mmtat.utils import InputError, display_config

#: problems of one kind printed per dataset; --out has all of them
SHOWN_PER_KIND = 20


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Decode and check every image and label of the '
        'datasets of a config')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--split',
        nargs='+',
        choices=[split for split, _, _ in DATA_LOADERS],
        default=[split for split, _, _ in DATA_LOADERS],
        help='the data loaders whose datasets are checked (default: all '
        'the config has)')
    parser.add_argument(
        '--nproc',
        type=int,
        default=default_nproc(),
        help='processes that decode the files (default: the usable cores, '
        'at most 8)')
    parser.add_argument(
        '--data-root',
        help='check the data under this folder: sets the data_root of '
        'every dataset of the config (e.g. a copy elsewhere)')
    parser.add_argument(
        '--out', help='write the report as JSON to this file')
    parser.add_argument(
        '--show',
        type=int,
        default=SHOWN_PER_KIND,
        help='problems of each kind printed per dataset (default: '
        f'{SHOWN_PER_KIND}; --out lists them all)')
    add_cfg_options_argument(parser)
    args = parser.parse_args(argv)
    if args.nproc < 1:
        parser.error(f'--nproc must be at least 1, got {args.nproc}')
    return args


def set_data_root(cfg: Any, data_root: str) -> None:
    """Point every dataset of ``cfg``'s data loaders at ``data_root``."""
    if not osp.isdir(data_root):
        raise InputError(f'--data-root {data_root}: the folder does not '
                         'exist.')
    for _, loader, _ in DATA_LOADERS:
        if isinstance((cfg.get(loader) or {}).get('dataset'), dict):
            for _, dataset in leaf_dataset_cfgs(cfg[loader]['dataset'],
                                                loader):
                dataset['data_root'] = data_root


def _summary(reports: List[DatasetReport]) -> Dict[str, int]:
    """Problems per kind; one file of two datasets (VOC aug's two training
    sets share their images) counts once."""
    distinct = {(p.kind, p.file, p.detail) for r in reports
                for p in r.problems}
    counts = Counter(kind for kind, _, _ in distinct)
    return {kind: counts[kind] for kind in PROBLEM_KINDS if counts[kind]}


def format_report(config: str, reports: List[DatasetReport],
                  show: int = SHOWN_PER_KIND) -> str:
    """The report as text: per dataset its samples and problems (at most
    ``show`` of each kind), then the summary."""
    samples = sum(r.samples for r in reports)
    lines = [f'Data check of {config}: {len(reports)} dataset(s), '
             f'{samples} samples.']
    for report in reports:
        roles = ' and '.join(report.roles)
        head = (f'{roles} data ({report.type}: {report.key}, data_root='
                f'{report.data_root}): {report.samples} samples')
        if report.num_classes is not None and report.ignore_index is None:
            head += f', {report.num_classes} classes (one label per image)'
        elif report.num_classes is not None:
            head += (f', {report.num_classes} classes, ignore index '
                     f'{report.ignore_index}, reduce_zero_label='
                     f'{report.reduce_zero_label}')
        count = len(report.problems)
        lines.append(f'  {head}: ' + (f'{count} problem(s)' if count
                                       else 'no problems'))
        shown: Counter = Counter()
        for problem in report.problems:
            shown[problem.kind] += 1
            if shown[problem.kind] <= show:
                lines.append(f'    [{problem.kind}] {problem.sentence()}')
        for kind, total in shown.items():
            if total > show:
                lines.append(f'    [{kind}] ... and {total - show} more')
    summary = _summary(reports)
    files = len({p.file for r in reports for p in r.problems})
    if summary:
        lines.append(f'Summary: {sum(summary.values())} problem(s) in '
                     f'{files} file(s): ' + ', '.join(
                         f'{n} {PROBLEM_KINDS[k]} ({k})'
                         for k, n in summary.items()) + '.')
    else:
        lines.append(f'Summary: no problems in {samples} samples.')
    return '\n'.join(lines)


def report_dict(config: str, reports: List[DatasetReport],
                nproc: int) -> Dict[str, Any]:
    return dict(
        config=config,
        datasets=[r.to_dict() for r in reports],
        samples=sum(r.samples for r in reports),
        summary=_summary(reports),
        nproc=nproc)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    with reported_errors():
        cfg = load_config(args.config)
        apply_cfg_options(cfg, args.cfg_options)
        if args.data_root:
            set_data_root(cfg, args.data_root)
        config = display_config(args.config)
        reports = check_config_data(cfg, tuple(args.split), args.nproc,
                                    progress=True)
        if not reports:
            raise InputError(
                f'{config} has no dataset in its '
                + ', '.join(f'{s}_dataloader' for s in args.split)
                + ', so there is nothing to check.')
        print(format_report(config, reports, args.show), flush=True)
        if args.out:
            os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
            with open(args.out, 'w') as f:
                json.dump(report_dict(config, reports, args.nproc),
                          f, indent=1)
            print(f'Report: {args.out}')
        summary = _summary(reports)
        if summary:
            # classification datasets list their images in annotation files
            lists = ('annotation' if any(
                r.num_classes is not None and r.ignore_index is None
                for r in reports) else 'split')
            raise InputError(
                f'the data check of {config} found '
                f'{sum(summary.values())} problem(s) (listed above'
                + (f' and in {args.out}' if args.out else '') + '); '
                f'fix or remove those files (or their lines in the {lists} '
                'files) before training.')


if __name__ == '__main__':
    main()
