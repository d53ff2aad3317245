"""Turn a distillation checkpoint into a plain MMSegmentation or MMPretrain
checkpoint.

A checkpoint written while training an MMRazor ``SingleTeacherDistill``
config (e.g. ``configs/tat/*.py``) holds the whole algorithm: the student
under ``architecture.*``, the frozen teacher under ``teacher.*`` and the
distillation losses' own weights (TaT's embeddings) under ``distiller.*``,
plus the optimiser and scheduler states of that algorithm.  This tool keeps
the student only, with the ``architecture.`` prefix stripped, and the
checkpoint's ``meta`` (dataset classes and palette, iteration, config), so
that MMSegmentation loads it with the student's plain config, e.g.::

    python tools/convert_student.py work_dirs/tat_voc/iter_40000.pth \\
        student.pth
    python tools/test.py configs/baselines/deeplabv3_r18_voc.py student.pth

A classification run (``configs/tat/*_in1k.py``) converts the same way into
an MMPretrain ``ImageClassifier`` checkpoint (backbone, neck, head; the
``meta`` with the 1000 ImageNet classes), which MMPretrain's own API
(``mmpretrain.apis.init_model(config, checkpoint)``) and tools
(``mmpretrain/.mim/tools/test.py``) load with the student's plain config::

    python tools/convert_student.py \\
        work_dirs/resnet34_resnet18_in1k/epoch_100.pth resnet18.pth
    python tools/test.py configs/baselines/resnet18_in1k.py resnet18.pth

The checkpoint is read with ``torch.load(weights_only=True)`` inside
:func:`mmtat.compat.mmengine_checkpoint_globals`, which allows the few
mmengine types a training checkpoint contains; anything else is refused.
A missing, empty or truncated SRC is refused before it is read.
"""
import argparse
import io
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional

import torch

import mmtat  # noqa: F401  (mmtat.compat: weights-only loading of mmengine)
from mmtat.checks import check_checkpoint_file
from mmtat.compat import mmengine_checkpoint_globals
from mmtat.engine import atomic_write
from mmtat.tools._common import reported_errors
from mmtat.utils import InputError

PREFIX = 'architecture.'


def convert_student(src: str, dst: str) -> Dict[str, int]:
    """Write the student of distillation checkpoint ``src`` to ``dst``.

    Returns:
        The number of tensors kept (``student``) and dropped, by top-level
        prefix of their key (``teacher``, ``distiller``, ...).

    Raises:
        InputError (a ValueError): if ``src`` is missing, empty or
            truncated, holds no ``architecture.*`` weights (it is not a
            distillation checkpoint), or ``dst`` is ``src``.
    """
    if osp.abspath(src) == osp.abspath(dst):
        raise InputError('the converted checkpoint must not overwrite the '
                         f'distillation checkpoint {src}')
    check_checkpoint_file(
        src, 'SRC', fix='Give a checkpoint a distillation run wrote (e.g. '
        'work_dirs/<config>/iter_40000.pth).')
    with mmengine_checkpoint_globals():
        checkpoint = torch.load(src, map_location='cpu', weights_only=True)
    if not isinstance(checkpoint, dict):
        raise InputError(f'{src} is not a checkpoint dict '
                         f'(got {type(checkpoint).__name__})')
    state_dict = checkpoint.get('state_dict', checkpoint)
    student = OrderedDict()
    counts: Dict[str, int] = {'student': 0}
    for key, value in state_dict.items():
        if not isinstance(key, str) or not torch.is_tensor(value):
            continue  # a bare state dict has no non-tensor entries
        if key.startswith(PREFIX):
            student[key[len(PREFIX):]] = value
            counts['student'] += 1
        else:
            group = key.split('.', 1)[0]
            counts[group] = counts.get(group, 0) + 1
    if not student:
        sample = ', '.join(list(map(str, state_dict))[:3]) or 'none'
        raise InputError(
            f'{src} has no "{PREFIX}*" weights, so it is not the checkpoint '
            'of an MMRazor SingleTeacherDistill (distillation) run; first '
            f'keys: {sample}. A plain MMSegmentation or MMPretrain checkpoint '
            'needs no conversion.')
    converted = {'meta': checkpoint.get('meta', {}), 'state_dict': student}
    out_dir = osp.dirname(osp.abspath(dst))
    os.makedirs(out_dir, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(converted, buffer)
    # an interrupted conversion must not leave a truncated student file
    atomic_write(dst, buffer.getvalue())
    return counts


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Extract the student of a distillation (MMRazor '
        'SingleTeacherDistill) checkpoint as a plain MMSegmentation or '
        'MMPretrain checkpoint')
    parser.add_argument('src', help='distillation checkpoint, e.g. '
                        'work_dirs/<config>/iter_40000.pth')
    parser.add_argument('dst', help='where to write the student checkpoint')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    with reported_errors():
        counts = convert_student(args.src, args.dst)
    dropped = ', '.join(f'{n} {group}.*' for group, n in counts.items()
                        if group != 'student') or 'nothing'
    print(f'Saved {counts["student"]} student tensors to {args.dst} '
          f'(dropped {dropped}).')


if __name__ == '__main__':
    main()
