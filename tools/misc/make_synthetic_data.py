"""Write a small generated dataset in a layout MMSegmentation or MMPretrain
configs read.

    python tools/misc/make_synthetic_data.py voc data/synthetic
    python tools/misc/make_synthetic_data.py cocostuff10k data/synthetic \
        --num-train 64 --num-val 16 --size 128
    python tools/misc/make_synthetic_data.py ade20k data/synthetic
    python tools/misc/make_synthetic_data.py imagenet data/synthetic

(layouts: ``voc``, ``cocostuff10k``, ``cityscapes``, ``camvid``, ``ade20k``
and the classification layout ``imagenet``, MMPretrain's ImageNet with
``meta/train.txt`` and ``meta/val.txt``: the keys of
:data:`mmtat.datasets.SYNTHETIC_LAYOUTS`).

It prints the ``data_root`` to use, e.g. with
``--cfg-options train_dataloader.dataset.data_root=...`` (see
:mod:`mmtat.datasets.synthetic` for the content and the layout).
"""
import argparse
import os.path as osp
import sys

# run from a checkout without installing mmtat
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

from mmtat import datasets  # noqa: E402

LAYOUTS = datasets.SYNTHETIC_LAYOUTS


def parse_size(text: str):
    parts = text.lower().replace('x', ',').split(',')
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'--size takes N or HxW, got {text!r}') from None
    if len(values) == 1:
        return (values[0], values[0])
    if len(values) == 2:
        return tuple(values)
    raise argparse.ArgumentTypeError(f'--size takes N or HxW, got {text!r}')


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('dataset', choices=sorted(LAYOUTS))
    parser.add_argument('out_dir', help='root directory to write into')
    parser.add_argument('--num-train', type=int, default=32)
    parser.add_argument('--num-val', type=int, default=8)
    parser.add_argument(
        '--size', type=parse_size, default=None,
        help='image size, N or HxW (default: ' + ', '.join(
            f'{"x".join(map(str, layout.image_size))} for {kind}'
            for kind, layout in sorted(LAYOUTS.items())) + ')')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    try:
        size = {} if args.size is None else dict(image_size=args.size)
        data_root = datasets.make_synthetic_dataset(
            args.dataset,
            args.out_dir,
            num_train=args.num_train,
            num_val=args.num_val,
            seed=args.seed,
            **size)
    except (TypeError, ValueError, FileExistsError) as e:
        parser.error(str(e))
    print(data_root)
    return 0


if __name__ == '__main__':
    sys.exit(main())
