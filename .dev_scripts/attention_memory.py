"""The memory the authors' release would need for the attention of a TaT
config, computed (not measured).

``python .dev_scripts/attention_memory.py CONFIG ... --out DIR`` (a
maintainers' script of the repository, not installed with mmtat).  For each
TaT pair of each ``TaTDistiller`` config it builds the model shape-only at
the crop (``--crop``, default the config's), takes the pair's map and
geometry as ``TaTLoss`` lays them out, and computes what the release's
computation (``sihaoevery/TaT-seg``, ``distiller_tat.py``) holds: per image
and branch ``softmax(q k^T)`` as a float32 ``heads x L x L`` tensor, kept for
backward (softmax's and the second product's backward use it); the release
loops over the images, sums their losses and calls backward once
(``train_with_distillation_tat.py``), so the attention of every image of the
batch is held at the same time::

    held = batch x sum over branches (heads x L^2 x 4 bytes)

The logits of the image being computed and the gradients in backward come
on top, so the peak is higher.  mmtat's ``TaTLoss`` holds the same
attention for fewer than ``TaTLoss``'s ``large_attention_positions``
positions per head and none from there on (fused SDPA on CUDA, query-chunked
attention recomputed in backward elsewhere); its
measured cost comes from ``tools/benchmark.py``.  Writes
``DIR/attention_memory.json`` (every number with ``"computed": true``) and
``DIR/attention_memory.md``.
"""
import argparse
import os.path as osp
import sys
from datetime import datetime
from typing import Any, Dict, List, Optional, Sequence

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
from mmtat.utils.errors import InputError  # noqa: E402

#: bytes of one float32 element, the release's attention dtype
FLOAT32 = 4
#: the release's batch (train_voc_resnet18.sh, train_cocostuff10k_resnet18.sh)
RELEASE_BATCH = 16


def branch_rows(geometry: Any) -> List[Dict[str, Any]]:
    """``(branch, heads, positions L per head)`` of a ``TaTGeometry``: the
    patch-group branch attends inside each of its heads over one patch's
    positions, the anchor branch with one head over all anchors."""
    rows = []
    if geometry.patch_size is not None:
        rows.append(dict(branch='patch-group', heads=geometry.num_heads,
                         positions=geometry.patch_size[0] *
                         geometry.patch_size[1]))
    if geometry.anchor_counts is not None:
        rows.append(dict(branch='anchor', heads=1,
                         positions=geometry.anchor_counts[0] *
                         geometry.anchor_counts[1]))
    for row in rows:
        row['bytes_per_image'] = row['heads'] * row['positions']**2 * FLOAT32
    return rows


def release_attention_memory(cfg: Any, batch_size: int,
                             crop: Optional[Sequence[int]] = None
                             ) -> List[Dict[str, Any]]:
    """One row per TaT pair of ``cfg`` (a ``TaTDistiller`` config): map,
    channels, branches and the attention the release holds for
    ``batch_size`` images."""
    from mmengine.registry import DefaultScope
    from mmrazor.registry import MODELS

    from mmtat.checks import make_offline

    distiller = cfg.model.get('distiller', {})
    if str(distiller.get('type', '')).split('.')[-1] != 'TaTDistiller':
        raise InputError(
            'the config has no TaTDistiller (model.distiller.type is '
            f'{distiller.get("type")!r}): give a TaT config such as '
            'configs/tat/deeplabv3_r101_r18_voc.py.')
    cfg.model.teacher_ckpt = None
    make_offline(cfg, mode='train')  # shapes only: no weights are needed
    if crop is not None:
        cfg.model.data_preprocessor.size = tuple(crop)
        if distiller.get('input_size') is not None:
            # the crop the distiller lays TaT out for, if the config says
            distiller.input_size = tuple(crop)
    size = cfg.model.data_preprocessor.get('size')
    if size is None:
        raise InputError('model.data_preprocessor.size (the training crop) '
                         'is not set in the config: give --crop H W.')
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'mmseg')):
        model = MODELS.build(cfg.model)
    rows = []
    for pair in model.distiller.feature_pairs:
        loss = model.distiller.distill_losses[f'loss_tat_{pair["name"]}']
        map_size = pair['teacher']['map_size']
        branches = branch_rows(loss.geometry(*map_size))
        per_image = sum(b['bytes_per_image'] for b in branches)
        rows.append(
            dict(
                pair=pair['name'],
                crop=list(size),
                batch_size=batch_size,
                map_size=list(map_size),
                student_channels=pair['student']['channels'],
                teacher_channels=pair['teacher']['channels'],
                branches=branches,
                release_bytes_per_image=per_image,
                release_held_bytes=batch_size * per_image,
                mmtat_materialises=any(
                    b['positions'] < loss.large_attention_positions
                    for b in branches),
                computed=True))
    return rows


def _size(num_bytes: int) -> str:
    for unit, scale in (('GiB', 1 << 30), ('MiB', 1 << 20), ('KiB', 1 << 10)):
        if num_bytes >= scale:
            return f'{num_bytes / scale:.2f} {unit}'
    return f'{num_bytes} B'


def markdown(results: List[Dict[str, Any]]) -> str:
    lines = [
        '# Attention memory of the release\'s form (computed, not measured)',
        '', 'float32 `heads x L x L` softmax per image and branch, held for '
        'backward for every image of the batch (the release sums the '
        'per-image losses, then calls backward once); the logits being '
        'computed and the gradients come on top.', '',
        '| config | pair | crop | map | branch: heads x L | batch | '
        'per image | held for the batch | mmtat materialises it |',
        '|---|---|---|---|---|---:|---:|---:|---|'
    ]
    for r in results:
        branches = ', '.join(f'{b["branch"]}: {b["heads"]} x {b["positions"]}'
                             for b in r['branches'])
        lines.append(
            f'| `{r["config"]}` | {r["pair"]} | {r["crop"][0]}x{r["crop"][1]}'
            f' | {r["map_size"][0]}x{r["map_size"][1]} | {branches} | '
            f'{r["batch_size"]} | {_size(r["release_bytes_per_image"])} | '
            f'{_size(r["release_held_bytes"])} | '
            f'{"yes" if r["mmtat_materialises"] else "no (chunked)"} |')
    return '\n'.join(lines) + '\n'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Compute the attention memory the authors\' release '
        'would need for TaT configs (not a measurement).')
    parser.add_argument('configs', nargs='+', help='TaTDistiller configs')
    parser.add_argument(
        '--batch-size', type=int, default=RELEASE_BATCH,
        help=f'images per iteration (default {RELEASE_BATCH}, the '
        'release\'s)')
    parser.add_argument('--crop', type=int, nargs=2, metavar=('H', 'W'),
                        help='input size (default: the config\'s crop)')
    parser.add_argument('--out', default='work_dirs/attention_memory',
                        help='output directory')
    args = parser.parse_args(argv)
    if args.batch_size < 1:
        parser.error(f'--batch-size must be >= 1, got {args.batch_size}')
    if args.crop is not None and min(args.crop) < 1:
        parser.error(f'--crop must be positive, got {args.crop}')
    return args


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    results = []
    with reported_errors():
        for config in args.configs:
            cfg = load_config(config)
            try:
                rows = release_attention_memory(cfg, args.batch_size,
                                                args.crop)
            except ValueError as err:  # a geometry that does not fit
                raise InputError(f'{config}: {err}') from None
            results += [dict(config=config, **row) for row in rows]
    report = dict(
        computed=True,
        formula='held = batch x sum over branches (heads x L^2 x 4 bytes)',
        date=datetime.now().isoformat(timespec='seconds'),
        results=results)
    table = markdown(results)
    write_report(args.out, 'attention_memory', report, table)
    print(table)
    print(f'written: {args.out}/attention_memory.json, attention_memory.md')


if __name__ == '__main__':
    main()
