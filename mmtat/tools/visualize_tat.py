"""Pictures of what TaT matches, for a distillation config and checkpoint.

``python -m mmtat.tools.visualize_tat CONFIG CHECKPOINT IMAGE --out DIR``
or ``python tools/analysis/visualize_tat.py ...``.  For every TaT pair of
the config (``TaTDistiller`` features, or ``TaTLoss`` in a
``ConfigurableDistiller``) it writes, with the networks and embeddings of
CHECKPOINT (a checkpoint of a training run of CONFIG, which holds student,
teacher and TaT's embeddings; ``none`` for random weights, offline):

* ``DIR/<pair>_attention.png``: for each ``--positions`` (fractions of the
  image), where that position of the teacher map gathers the student's
  values in the patch-group and the anchor branch, over the image;
* ``DIR/<pair>_pca.png``: the first three principal components of the
  teacher feature, the student feature and the reconfigured student;
* ``DIR/pictures.json``: what was drawn (pairs, geometry, files).

The image is fitted into the training crop (``data_preprocessor.size``),
keeping its aspect ratio, and normalised as in training.  See
:mod:`mmtat.visualization.tat_pictures` for the definitions.
"""
import argparse
import json
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

from mmtat.tools._common import load_config, reported_errors
from mmtat.utils import (
    InputError,
    add_cfg_options_argument,
    apply_cfg_options,
    check_checkpoint_file,
    make_offline,
)

RANDOM = ('none', 'random')
DEFAULT_POSITIONS = ((0.5, 0.5), (0.3, 0.3), (0.7, 0.7))


def _position(text: str) -> Tuple[float, float]:
    try:
        y, x = (float(v) for v in text.split(','))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'a position is Y,X (fractions of the image height and width, '
            f'e.g. 0.5,0.25), got {text!r}') from None
    if not (0 <= y <= 1 and 0 <= x <= 1):
        raise argparse.ArgumentTypeError(
            f'position fractions must be within [0, 1], got {text!r}')
    return y, x


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Draw where TaT gathers the student\'s values and PCA '
        'colourings of the features, for one image.')
    parser.add_argument('config', help='a TaT distillation config')
    parser.add_argument(
        'checkpoint', help='checkpoint of a training run of the config, or '
        '"none" for random weights')
    parser.add_argument('image', help='an image file')
    parser.add_argument('--out', required=True, help='output directory')
    parser.add_argument(
        '--positions', nargs='+', type=_position,
        default=list(DEFAULT_POSITIONS), metavar='Y,X',
        help='target positions as fractions of the image (default: '
        'centre, upper left, lower right)')
    parser.add_argument('--device', default='cpu',
                        help='cpu or cuda[:N] (default cpu)')
    add_cfg_options_argument(parser)
    return parser.parse_args(argv)


def _load_weights(model: Any, path: str) -> None:
    """All of the algorithm's weights (student, teacher, embeddings) from a
    checkpoint of the config's training run."""
    import re

    from mmengine.runner.checkpoint import _load_checkpoint

    from mmtat.engine import checkpoint_fit_problems
    checkpoint = _load_checkpoint(path, map_location='cpu')
    found = checkpoint_fit_problems(model, checkpoint, prefix='')
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


def visualize(cfg: Any, checkpoint: str, image: str, out_dir: str,
              positions: Sequence[Tuple[float, float]] = DEFAULT_POSITIONS,
              device: str = 'cpu', title: str = '') -> Dict[str, Any]:
    """Build ``cfg``'s algorithm with ``checkpoint``'s weights (or random
    ones) and draw the pictures of ``image`` into ``out_dir``.

    Returns:
        What ``DIR/pictures.json`` holds.
    """
    import torch
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import MODELS, DefaultScope

    from mmtat.visualization import (
        draw_tat_pictures,
        inspect_tat,
        prepare_image,
    )
    if 'distiller' not in cfg.model:
        raise InputError(
            'the config has no distiller: give a TaT distillation config '
            '(e.g. configs/tat/deeplabv3_r101_r18_voc.py).')
    if not osp.isfile(image):
        raise InputError(f'the image {image} does not exist.')
    random_weights = checkpoint.lower() in RANDOM
    if not random_weights:
        check_checkpoint_file(
            checkpoint, 'CHECKPOINT',
            fix='Give a checkpoint of a training run of this config, or '
            '"none" for random weights.')
    # every weight comes from the checkpoint (or is random): nothing to
    # download, the teacher is not loaded from teacher_ckpt
    cfg.model.teacher_ckpt = None
    make_offline(cfg, mode='train')
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


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    with reported_errors():
        cfg = load_config(args.config)
        apply_cfg_options(cfg, args.cfg_options)
        os.makedirs(args.out, exist_ok=True)
        summary = visualize(cfg, args.checkpoint, args.image, args.out,
                            positions=args.positions, device=args.device)
    for pair in summary['pairs'].values():
        for name in pair['files']:
            print(osp.join(args.out, name))


if __name__ == '__main__':
    main()
