"""Pictures of what TaT matches, for a distillation config and checkpoint.

``python -m mmtat.tools.visualize_tat CONFIG CHECKPOINT IMAGE --out DIR``
or ``python tools/analysis/visualize_tat.py ...``.  For every TaT pair of
the config (``TaTDistiller`` features, or ``TaTLoss`` in a
``ConfigurableDistiller``) it writes, with the networks and embeddings of
CHECKPOINT (a checkpoint of a training run of CONFIG, which holds student,
teacher and TaT's embeddings, or all but a frozen teacher, which then
comes from the weights file the checkpoint records; ``none`` for random
weights, offline):

* ``DIR/<pair>_attention.png``: for each ``--positions`` (fractions of the
  image), where that position of the teacher map gathers the student's
  values in the patch-group and the anchor branch, over the image;
* ``DIR/<pair>_pca.png``: the first three principal components of the
  teacher feature, the student feature and the reconfigured student;
* ``DIR/pictures.json``: what was drawn (pairs, geometry, files).

The image is fitted into the training crop (``data_preprocessor.size``),
keeping its aspect ratio, and normalised as in training.  See
:mod:`mmtat.visualization.tat_pictures` for the definitions and
:mod:`mmtat.visualization.config_pictures` for what this runs.
"""
import argparse
import os
import os.path as osp
from typing import List, Optional, Tuple

from mmtat.checks import add_cfg_options_argument, apply_cfg_options
from mmtat.tools._common import load_config, reported_errors
from mmtat.visualization import DEFAULT_POSITIONS, visualize_config


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


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    with reported_errors():
        cfg = load_config(args.config)
        apply_cfg_options(cfg, args.cfg_options)
        os.makedirs(args.out, exist_ok=True)
        summary = visualize_config(cfg, args.checkpoint, args.image, args.out,
                            positions=args.positions, device=args.device)
    for pair in summary['pairs'].values():
        for name in pair['files']:
            print(osp.join(args.out, name))


if __name__ == '__main__':
    main()
