"""Time and memory of the TaT loss of a config, each branch alone and both,
on random features of the config's real map (forward + backward, CPU).

    python anchor_attention.py CONFIG BRANCH [--crop H W] [--batch 2] \
        [--anchor-window H W]

BRANCH: anchor, patch or both.  One process per measurement; the model is
built (shape pass at the crop), its TaT loss kept and the rest freed.  The
memory is the peak rise of the process's resident set (/proc/self/statm,
sampled every 2 ms) over its size before the first step, inputs included:
what the loss's forward and backward hold at their peak.  Prints one JSON
line."""
import argparse
import json
import os.path as osp
import gc
import os
import sys
import threading
import time

import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
sys.path.insert(0, ROOT)
import mmtat  # noqa: E402,F401
from mmengine.config import Config  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from mmrazor.registry import MODELS  # noqa: E402

from mmtat.checks import make_offline  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument('config')
parser.add_argument('branch', choices=('anchor', 'patch', 'both'))
parser.add_argument('--crop', type=int, nargs=2)
parser.add_argument('--batch', type=int, default=2)
parser.add_argument('--anchor-window', type=int, nargs=2)
parser.add_argument('--repeat', type=int, default=3)
args = parser.parse_args()
torch.set_num_threads(2)
cfg = Config.fromfile(osp.join(ROOT, args.config))
cfg.model.teacher_ckpt = None
make_offline(cfg, mode='train')
if args.crop:
    cfg.model.data_preprocessor.size = tuple(args.crop)
    cfg.model.distiller.input_size = tuple(args.crop)
if args.anchor_window:
    cfg.model.distiller.anchor_window = tuple(args.anchor_window)
with DefaultScope.overwrite_default_scope('mmseg'):
    model = MODELS.build(cfg.model)
(pair, ) = model.distiller.feature_pairs
(loss, ) = model.distiller.distill_losses.values()
if args.branch == 'anchor':
    loss.patch_weight = 0.0
elif args.branch == 'patch':
    loss.anchor_weight = 0.0
h, w = pair['teacher']['map_size']
geometry = loss.geometry(h, w)
del model
loss.train()
torch.manual_seed(0)
s = torch.randn(args.batch, pair['student']['channels'], h, w,
                requires_grad=True)
t = torch.randn(args.batch, pair['teacher']['channels'], h, w)


def step():
    value = loss(s, t)
    value.backward()
    s.grad = None
    for p in loss.parameters():
        p.grad = None


PAGE = os.sysconf('SC_PAGE_SIZE')


def rss() -> int:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * PAGE


gc.collect()
before = rss()
peak = [before]
done = threading.Event()


def sample():
    while not done.is_set():
        peak[0] = max(peak[0], rss())
        time.sleep(0.002)


sampler = threading.Thread(target=sample, daemon=True)
sampler.start()
step()  # warm-up
times = []
for _ in range(args.repeat):
    start = time.perf_counter()
    step()
    times.append(time.perf_counter() - start)
done.set()
sampler.join()
times.sort()
row = dict(
    config=args.config, branch=args.branch,
    anchor_window=list(loss.anchor_window) if loss.anchor_window else None, batch=args.batch, map=[h, w],
    channels=[pair['student']['channels'], pair['teacher']['channels']],
    heads_x_positions=dict(
        patch=None if geometry.patch_size is None else
        [geometry.num_heads, geometry.patch_size[0] * geometry.patch_size[1]],
        anchor=None if geometry.anchor_counts is None else
        [1, geometry.anchor_counts[0] * geometry.anchor_counts[1]]),
    chunked=bool(loss.uses_large_attention(geometry)),
    times_s=[round(x, 3) for x in times], median_s=round(times[len(times) // 2], 3),
    peak_rss_rise_mib=round((peak[0] - before) / 2**20, 1),
    torch=torch.__version__)
print(json.dumps(row))
