# Copyright (c) mmtat contributors. All rights reserved.
"""The pictures of :mod:`.tat_pictures` for a distillation config: build
its algorithm with the weights of a training run's checkpoint (or random
ones), fit an image into the training crop and draw every TaT pair.

Used by ``python -m mmtat.tools.visualize_tat`` and by the demo; wrong
inputs raise :class:`~mmtat.utils.errors.InputError` (one paragraph).
"""
import json
import os.path as osp
from typing import Any, Dict, Sequence, Tuple

from mmtat.checks import check_checkpoint_file, make_offline
from mmtat.checks.teacher_record import (
    left_out_teacher_record,
    teacher_file,
    teacher_record_problem,
)
from mmtat.utils import InputError

__all__ = ['visualize_config', 'RANDOM_WEIGHTS', 'DEFAULT_POSITIONS']

#: CHECKPOINT values that mean random weights.
RANDOM_WEIGHTS = ('none', 'random')
#: Target positions drawn by default: centre, upper left, lower right.
DEFAULT_POSITIONS = ((0.5, 0.5), (0.3, 0.3), (0.7, 0.7))


def _load_weights(model: Any, path: str) -> None:
    """All of the algorithm's weights (student, teacher, embeddings) from a
    checkpoint of the config's training run (one saved without its frozen
    teacher: all but the teacher's, which came from its file)."""
    import re

    from mmengine.runner.checkpoint import _load_checkpoint

    from mmtat.checks import checkpoint_fit_problems
    from mmtat.checks.teacher_record import TEACHER_PREFIX, teacher_left_out
    checkpoint = _load_checkpoint(path, map_location='cpu')
    found = checkpoint_fit_problems(model, checkpoint, prefix='')
    if teacher_left_out(checkpoint):
        found['missing'] = [k for k in found['missing']
                            if not k.startswith(TEACHER_PREFIX)]
    if found['missing']:
        missing = found['missing']
        shown = ', '.join(missing[:3]) + (', ...' if len(missing) > 3 else '')
        raise InputError(
            f'the checkpoint {path} lacks {len(missing)} of the weights of '
            f'this config\'s model (e.g. {shown}). The pictures need the '
            'checkpoint of a training run of this distillation config '
            '(student, teacher and TaT embeddings), e.g. '
            'work_dirs/<config>/iter_40000.pth; a student converted by '
            'convert_student.py has no teacher or embeddings.')
    if found['mismatched']:
        key, own, saved = found['mismatched'][0]
        raise InputError(
            f'the checkpoint {path} is of another model: '
            f'{len(found["mismatched"])} of its weights have another shape '
            f'than this config\'s (e.g. {key}: model {own}, checkpoint '
            f'{saved}). Give the checkpoint of a training run of this '
            'config.')
    state = checkpoint.get('state_dict', checkpoint)
    model.load_state_dict(
        {re.sub(r'^module\.', '', k): v
         for k, v in state.items()}, strict=False)


def visualize_config(
        cfg: Any,
        checkpoint: str,
        image: str,
        out_dir: str,
        positions: Sequence[Tuple[float, float]] = DEFAULT_POSITIONS,
        device: str = 'cpu',
        title: str = '') -> Dict[str, Any]:
    """Build ``cfg``'s algorithm with ``checkpoint``'s weights (or random
    ones) and draw the pictures of ``image`` into ``out_dir``.

    Returns:
        What ``DIR/pictures.json`` holds.
    """
    import torch
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import MODELS, DefaultScope

    from .tat_pictures import draw_tat_pictures, inspect_tat, prepare_image
    if 'distiller' not in cfg.model:
        raise InputError(
            'the config has no distiller: give a TaT distillation config '
            '(e.g. configs/tat/deeplabv3_r101_r18_voc.py).')
    if not osp.isfile(image):
        raise InputError(f'the image {image} does not exist.')
    random_weights = checkpoint.lower() in RANDOM_WEIGHTS
    record = None
    if not random_weights:
        check_checkpoint_file(
            checkpoint, 'CHECKPOINT',
            fix='Give a checkpoint of a training run of this config, or '
            '"none" for random weights.')
        record = left_out_teacher_record(checkpoint)
    teacher = None
    if record is not None:
        # saved without its frozen teacher: the teacher is the file it
        # records (the config's teacher_ckpt, or the recorded path)
        teacher = cfg.model.get('teacher_ckpt') or record['path']
        problem = teacher_record_problem(record, teacher, checkpoint)
        if problem is not None:
            raise InputError(problem + '.')
        teacher = teacher_file(teacher)
    # every other weight comes from the checkpoint (or is random): nothing
    # to download
    cfg.model.teacher_ckpt = None
    make_offline(cfg, mode='train')
    cfg.model.teacher_ckpt = teacher
    size = cfg.model.data_preprocessor.get('size')
    if size is None:
        raise InputError('model.data_preprocessor.size (the training crop) '
                         'is not set in the config.')
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'mmseg')):
        model = MODELS.build(cfg.model)
    model = revert_sync_batchnorm(model)
    if random_weights:
        model.init_weights()
    else:
        _load_weights(model, checkpoint)
    model.to(device)
    rgb, inputs = prepare_image(image, model.data_preprocessor, size)
    try:
        inspection = inspect_tat(model, inputs)
    except ValueError as err:
        raise InputError(str(err)) from None
    weights = 'random weights' if random_weights else osp.basename(
        checkpoint)
    files = draw_tat_pictures(
        rgb, inspection, out_dir, positions=positions,
        title=title or f'{weights}:')
    summary = dict(
        image=image,
        checkpoint=None if random_weights else checkpoint,
        input_size=list(size),
        positions=[list(p) for p in positions],
        pairs={
            name: dict(
                geometry={k: (list(v) if isinstance(v, tuple) else v)
                          for k, v in result['geometry']._asdict().items()},
                teacher_map=list(result['preds_T'].shape[1:]),
                files=[osp.basename(f) for f in files[name]])
            for name, result in inspection.items()
        })
    with open(osp.join(out_dir, 'pictures.json'), 'w') as f:
        json.dump(summary, f, indent=2)
    return summary
