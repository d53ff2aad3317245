"""Why does TaT hurt the student in ``make demo``?  Measurements on the demo.

``make demo`` (:mod:`mmtat.tools.demo`) trains, on generated VOC-layout data
(32 train / 8 val images, 128x128, seed 0), a DeepLabV3 R101-D8 teacher for
60 iterations and then, from one saved initialisation, a DeepLabV3 R18-D8
student with and without TaT for 100 iterations (batch 4).  This script
repeats exactly that setting and measures what happens inside the runs:

1. the demo's teacher (trained as ``make demo`` trains it, or reused from
   ``WORK_DIR/teacher`` when its checkpoint is there) and one student
   initialisation per seed;
2. from that initialisation, same data, seed and schedule (100 iterations,
   batch 4): the student alone (``configs/baselines/deeplabv3_r18_voc.py``),
   TaT (``configs/tat/deeplabv3_r101_r18_voc.py``) with ``loss_weight``
   0.05 / 0.1 / 0.4 / 1.6 (nothing else changed), KD and CWD (the distillers
   of ``configs/baselines/{kd,cwd}_deeplabv3_r101_r18_voc.py`` as shipped);
   the configs are loaded with ``Config.fromfile`` and shrunk with the
   demo's own :func:`~mmtat.tools.demo.shrink_for_demo`;
3. in every run (a hook, :class:`StudyHook`): every logged loss term at every
   iteration; the validation mIoU every 20 iterations (the runner's own val
   loop; the random-number state is saved and restored around it, so the
   run trains exactly as without the extra validations); every 10
   iterations, by an extra forward on the iteration's batch (no optimiser
   step; buffers and random state restored, so the run is not changed),
   the gradient norms of the distillation term and of the cross-entropy
   (decode + auxiliary) on the student's backbone, its decode head and, for
   TaT, the query / key / value embeddings, with the cosine between the two
   gradients; for TaT the attention statistics of both branches from
   :meth:`mmtat.models.TaTLoss.reconfigure` on that batch's recorded
   features (mean entropy of the softmax over query positions, also divided
   by log L; mean maximum weight; gap between the two largest logits), the
   branch losses and the trivial reference (each teacher channel predicted
   by its mean over the batch's positions), and, at the first and last
   measurement, the loss and its embedding gradients against mmtat's
   float64 re-implementation of the release
   (``release_tat_loss``: ``mmtat.testing`` or, in later commits,
   ``tests/release_reference.py``) on the same features;
4. "can the reconfiguration fit the teacher at all": students frozen (the
   untrained initialisation and the plain student after its 100
   iterations), only a fresh set of TaT embeddings trained on cached
   features of the training images (``--fit-iters`` iterations, batch 4;
   SGD lr 0.01, momentum 0.9, weight decay 5e-4 as the config's optimiser
   at constant lr, and Adam lr 1e-3), the unweighted loss and attention
   statistics on the 8 validation images next to the trivial reference and
   a per-position linear-regression reference;
5. diagnostics, marked as such everywhere (not mmtat's method): the same
   TaT with its attention logits scaled by ``1/sqrt(d)`` (d = channels of a
   head) through a subclass defined here, in the frozen fit and as one
   distillation run (``tat_w1.6_scaled``);
6. optionally (``--extra-seeds``) the plain student, TaT 0.1 and TaT 1.6 for
   more seeds (same data and teacher; another student initialisation, data
   order and dropout), for the run-to-run spread.

Raw output: ``OUT/study.json`` (every series and setting, the commit and
whether the tree was dirty, the machine, torch version, the command line),
``OUT/study.md`` (tables).  Each run keeps its series in
``WORK_DIR/seed<S>/<run>/study_run.json``; a run whose file and final
checkpoint exist is not run again, so an interrupted study resumes where it
stopped.

Run from the repository root (2 CPU cores: about an hour), or from a
``git archive`` of a commit with its hash in ``.source_commit`` (then give
absolute ``--work-dir`` and ``--out``)::

    .venv/bin/python .dev_scripts/demo_study.py \\
        > docs/results/demo_study/run.log 2>&1

``--runs`` picks runs, ``--no-diagnostics`` / ``--no-fit`` drop parts,
``--iters``/``--teacher-iters``/``--fit-iters`` shrink it for a try-out
(use another ``--work-dir`` and ``--out`` then).
"""
import argparse
import copy
import json
import math
import os
import os.path as osp
import random
import subprocess
import sys
import time
import warnings
from typing import Any, Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.hooks import Hook  # noqa: E402
from mmengine.registry import HOOKS  # noqa: E402

import mmtat  # noqa: E402,F401  (compat fixes, registers TaT)
from mmtat.datasets import make_synthetic_voc  # noqa: E402
from mmtat.models import TaTLoss  # noqa: E402
from mmtat.models.losses.tat_geometry import (  # noqa: E402
    pool_anchors,
    stack_patches,
    unstack_patches,
)
from mmtat.models.ops import tat_attention  # noqa: E402
from mmtat.tools.demo import (  # noqa: E402
    BASELINE_CONFIG,
    CROP,
    TAT_CONFIG,
    run,
    save_student_init,
    shrink_for_demo,
    start_from,
    teacher_config,
)
from mmtat.utils import config_file, display_config, machine_info  # noqa

try:  # the float64 re-implementation of the release
    from mmtat.testing import functional_embeddings, release_tat_loss  # noqa: E402
except ImportError:  # later commits keep it in tests/release_reference.py
    # (tests/ is no package: it goes on the path itself)
    sys.path.insert(0, osp.join(ROOT, 'tests'))
    from release_reference import functional_embeddings, release_tat_loss  # noqa: E402

KD_CONFIG = config_file('baselines/kd_deeplabv3_r101_r18_voc.py')
CWD_CONFIG = config_file('baselines/cwd_deeplabv3_r101_r18_voc.py')
TAT_WEIGHTS = (0.05, 0.1, 0.4, 1.6)
#: in order of priority (a study cut short keeps the most telling runs)
MAIN_RUNS = ('student', 'tat_w1.6', 'tat_w0.1', 'kd', 'tat_w0.05', 'tat_w0.4',
             'cwd')
DIAGNOSTIC_RUNS = ('tat_w1.6_scaled', )
SEED_RUNS = ('student', 'tat_w0.1', 'tat_w1.6')
RUN_FILE = 'study_run.json'
#: the work dir; paths recorded in the JSON files are relative to it
BASE = dict(dir=ROOT)


def _rel(path: str) -> str:
    """``path`` relative to the work dir (as the JSON files keep it)."""
    return osp.relpath(path, BASE['dir'])


def log(text: str) -> None:
    print(f'[demo_study {time.strftime("%H:%M:%S")}] {text}', flush=True)


# ---------------------------------------------------------------------------
# diagnostic: TaT with 1/sqrt(d)-scaled attention logits (NOT mmtat's method)
# ---------------------------------------------------------------------------
class ScaledLogitsTaTLoss(TaTLoss):
    """DIAGNOSTIC ONLY, not the method: :class:`TaTLoss` whose attention
    logits ``q_i . k_j`` are divided by ``sqrt(d)``, d the channels of one
    head (stacked patch channels in the patch branch, the teacher channels
    in the anchor branch), as in a standard transformer.  Everything else
    (embeddings, layout, targets, weights) is TaTLoss's own.  Turned on for
    an existing loss by :func:`scale_logits` (class swap, state kept)."""

    @staticmethod
    def _scaled(q: torch.Tensor) -> torch.Tensor:  # q: (B, heads, d, L)
        return q / math.sqrt(q.size(2))

    def _mse(self, q, k, v, target):
        # TaTLoss.forward runs every branch's attention through _mse with
        # (B, heads, d, L) operands
        return super()._mse(self._scaled(q), k, v, target)

    @torch.no_grad()
    def reconfigure(self, preds_S, preds_T):
        preds_S, preds_T, geometry = self._check_inputs(preds_S, preds_T)
        q, k, v = self._embed(preds_S, preds_T, update_stats=False)
        floor = self.logit_floor
        out: dict = dict(geometry=geometry)
        if self.patch_weight > 0:
            sq, sk, sv = (stack_patches(x, geometry) for x in (q, k, v))
            attention, result = tat_attention(self._scaled(sq), sk, sv, floor)
            out.update(patch_attention=attention,
                       patch_output=unstack_patches(result, geometry))
        if self.anchor_weight > 0:
            pq, pk, pv = (pool_anchors(x, geometry) for x in (q, k, v))
            attention, result = tat_attention(self._scaled(pq), pk, pv, floor)
            ah, aw = geometry.anchor_counts
            out.update(anchor_attention=attention,
                       anchor_output=result.reshape(result.size(0), -1, ah,
                                                    aw))
        return out


def scale_logits(loss: TaTLoss) -> TaTLoss:
    """Make ``loss`` (in place) the diagnostic :class:`ScaledLogitsTaTLoss`."""
    if not hasattr(TaTLoss, '_mse'):
        raise RuntimeError('TaTLoss no longer computes its attention in '
                           '_mse: update ScaledLogitsTaTLoss')
    loss.__class__ = ScaledLogitsTaTLoss
    return loss


# ---------------------------------------------------------------------------
# measurements
# ---------------------------------------------------------------------------
def _rng_state() -> tuple:
    return torch.get_rng_state(), np.random.get_state(), random.getstate()


def _set_rng_state(state: tuple) -> None:
    torch.set_rng_state(state[0])
    np.random.set_state(state[1])
    random.setstate(state[2])


def _f(x: Any) -> float:
    return float(x.detach()) if isinstance(x, torch.Tensor) else float(x)


def _r(x: float, digits: int = 6) -> float:
    if x is None or not math.isfinite(x):
        return x
    return float(f'{x:.{digits}g}')


def attention_stats(attention: torch.Tensor) -> Dict[str, float]:
    """Statistics of a ``(B, heads, L, L)`` softmax over its last axis
    (rows: query positions), averaged over images, heads and queries."""
    a = attention.double()
    length = a.size(-1)
    entropy = -(a * a.clamp_min(1e-300).log()).sum(-1)
    top = a.topk(min(2, length), dim=-1).values
    gap = (top[..., 0].clamp_min(1e-300).log() -
           top[..., -1].clamp_min(1e-300).log())
    return dict(
        positions=length,
        entropy=_r(_f(entropy.mean())),
        entropy_over_logL=_r(_f(entropy.mean() / math.log(length))),
        max_weight=_r(_f(top[..., 0].mean())),
        frac_rows_max_over_0_99=_r(_f((top[..., 0] > 0.99).double().mean())),
        top2_logit_gap=_r(_f(gap.mean())))


def trivial_reference(target: torch.Tensor) -> float:
    """MSE of predicting each channel by its mean over the batch's
    positions: the mean per-channel variance of ``target`` (B, C, ...)."""
    t = target.double().transpose(0, 1).reshape(target.size(1), -1)
    return _f((t - t.mean(1, keepdim=True)).pow(2).mean())


def tat_branches(loss: TaTLoss, preds_S: torch.Tensor,
                 preds_T: torch.Tensor) -> Dict[str, Any]:
    """Attention statistics, branch losses and trivial references of one
    batch (reconfigure: the loss's own attention and normalisation)."""
    out = loss.reconfigure(preds_S, preds_T)
    geometry = out['geometry']
    t = preds_T.detach().float()
    result: Dict[str, Any] = {}
    total = trivial_total = 0.0
    if 'patch_attention' in out:
        (ph, pw), (nh, nw) = geometry.patch_size, geometry.patch_counts
        target = t[:, :, :nh * ph, :nw * pw]
        mse = _f(F.mse_loss(out['patch_output'].float(), target))
        triv = trivial_reference(target)
        result['patch'] = dict(
            attention_stats(out['patch_attention']), mse=_r(mse),
            trivial=_r(triv), heads=geometry.num_heads,
            channels_per_head=int(geometry.patch_counts[0] *
                                  geometry.patch_counts[1] //
                                  geometry.num_heads * t.size(1)))
        total += loss.patch_weight * mse
        trivial_total += loss.patch_weight * triv
    if 'anchor_attention' in out:
        window = geometry.anchor_window
        target = F.avg_pool2d(t, window, window)
        mse = _f(F.mse_loss(out['anchor_output'].float(), target))
        triv = trivial_reference(target)
        result['anchor'] = dict(
            attention_stats(out['anchor_attention']), mse=_r(mse),
            trivial=_r(triv), heads=1, channels_per_head=int(t.size(1)))
        total += loss.anchor_weight * mse
        trivial_total += loss.anchor_weight * triv
    result['unweighted_from_branches'] = _r(total)
    result['trivial_unweighted'] = _r(trivial_total)
    return result


def feature_path_grads(loss: TaTLoss, preds_S: torch.Tensor,
                       preds_T: torch.Tensor) -> Dict[str, float]:
    """Norm of the gradient of the (weighted) loss with respect to the
    student feature, in total and through each path: the query (the value
    conv's input detached) and the value (the query conv's input
    detached).  The two paths add up to the total."""
    out = {}
    for path, cut in (('total', None), ('query_path', loss.value_embed[0]),
                      ('value_path', loss.query_embed[0])):
        s = preds_S.detach().clone().requires_grad_(True)
        handle = None if cut is None else cut.register_forward_pre_hook(
            lambda module, args: (args[0].detach(), ))
        try:
            grad, = torch.autograd.grad(loss(s, preds_T.detach()), s)
        finally:
            if handle is not None:
                handle.remove()
        out[path] = _r(_f(grad.norm()))
    return out


def release_check(loss: TaTLoss, preds_S: torch.Tensor,
                  preds_T: torch.Tensor) -> Dict[str, Any]:
    """The unweighted loss and its embedding-parameter gradients from
    TaTLoss (float32) and from mmtat's float64 re-implementation of the
    release (no logit floor), on the same features and parameters."""
    geometry = loss.geometry(*preds_T.shape[2:])
    h, w = preds_T.shape[2:]
    (ph, pw) = geometry.patch_size
    args = dict(
        patch_grid=(h // ph, w // pw), num_heads=geometry.num_heads,
        anchor_grid=geometry.anchor_counts, patch_weight=loss.patch_weight,
        anchor_weight=loss.anchor_weight, loss_weight=1.0)
    s = preds_S.detach().contiguous()
    t = preds_T.detach().contiguous()
    emb = functional_embeddings(loss, torch.float64)
    ref = release_tat_loss(s.double(), t.double(),
                           (emb.query, emb.key, emb.value), **args)
    names = list(emb.parameters)
    ref_grads = torch.autograd.grad(ref, [emb.parameters[n] for n in names],
                                    allow_unused=True)
    params = dict(loss.named_parameters())
    ours = loss(s, t) / loss.loss_weight
    our_grads = torch.autograd.grad(ours, [params[n] for n in names],
                                    allow_unused=True)
    grads = {}
    for name, g_ref, g_our in zip(names, ref_grads, our_grads):
        g_ref = torch.zeros_like(emb.parameters[name]) if g_ref is None \
            else g_ref
        g_our = torch.zeros_like(params[name]) if g_our is None else g_our
        diff = _f((g_our.double() - g_ref).norm())
        grads[name] = dict(
            release_norm=_r(_f(g_ref.norm())), mmtat_norm=_r(_f(
                g_our.norm())), diff_norm=_r(diff))
    return dict(release_loss=_r(_f(ref), 9), mmtat_loss=_r(_f(ours), 9),
                grads=grads)


# ---------------------------------------------------------------------------
# the hook that records a run
# ---------------------------------------------------------------------------
def _unwrap(model):
    return model.module if hasattr(model, 'module') else model


def _param_groups(model, kind: str) -> Dict[str, List[torch.nn.Parameter]]:
    student = model.student if hasattr(model, 'student') else model
    groups = {
        'backbone': list(student.backbone.parameters()),
        'decode_head': list(student.decode_head.parameters()),
        'decode_head.bottleneck': list(
            student.decode_head.bottleneck.parameters()),
    }
    if kind == 'tat':
        loss = _tat_loss_of(model)
        for part in ('query', 'key', 'value'):
            groups[f'tat.{part}_embed'] = list(
                getattr(loss, f'{part}_embed').parameters())
    return groups


def _tat_loss_of(model) -> TaTLoss:
    losses = [loss for loss in model.distiller.distill_losses.values()
              if isinstance(loss, TaTLoss)]
    assert len(losses) == 1, losses
    return losses[0]


def _norm(tensors) -> float:
    return math.sqrt(sum(float(t.double().pow(2).sum()) for t in tensors))


@HOOKS.register_module(name='DemoStudyHook')
class StudyHook(Hook):
    """Records one run of the study (see the module doc, point 3) and
    writes it to ``out_file`` when the run ends.

    Args:
        out_file (str): where the run's JSON goes.
        kind (str): 'teacher', 'plain', 'tat', 'kd' or 'cwd'.
        info (dict): settings written into the JSON as they are.
        measure_interval (int): iterations between gradient / attention
            measurements (0: none).
        scaled_logits (bool): DIAGNOSTIC: turn the TaT loss into
            :class:`ScaledLogitsTaTLoss` before training.
    """

    priority = 'LOW'

    def __init__(self, out_file: str, kind: str, info: dict,
                 measure_interval: int = 10,
                 scaled_logits: bool = False) -> None:
        self.out_file = out_file
        self.kind = kind
        self.info = dict(info)
        self.measure_interval = measure_interval
        self.scaled_logits = scaled_logits
        self.losses: Dict[str, List[Optional[float]]] = {}
        self.lr: List[dict] = []
        self.val: List[dict] = []
        self.measurements: List[dict] = []
        self._val_rng = None
        self._start = None

    # -- set-up ------------------------------------------------------------
    def before_train(self, runner) -> None:
        self._start = time.time()
        model = _unwrap(runner.model)
        if self.kind == 'tat':
            loss = _tat_loss_of(model)
            if self.scaled_logits:
                scale_logits(loss)
            in_optimizer = {
                id(p) for group in runner.optim_wrapper.param_groups
                for p in group['params']
            }
            self.info['tat_loss'] = dict(
                cls=type(loss).__name__, repr=repr(loss),
                loss_weight=loss.loss_weight,
                embeddings_in_optimizer=all(
                    id(p) in in_optimizer for p in loss.parameters()))
        if self.kind in ('plain', 'tat', 'kd', 'cwd'):
            self._initial = {
                name: [p.detach().clone() for p in params]
                for name, params in _param_groups(model, self.kind).items()
            }

    # -- every iteration -----------------------------------------------------
    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if (self.measure_interval and self.kind != 'teacher'
                and runner.iter % self.measure_interval == 0):
            self._measure(runner, data_batch, runner.iter, 'before_step')

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        it = runner.iter + 1  # iterations done
        values = {}
        for key, value in (outputs or {}).items():
            key = key[len('student.'):] if key.startswith('student.') else key
            values[key] = _f(value) if isinstance(
                value, (torch.Tensor, float, int)) else None
        if self.kind == 'tat':
            weight = self.info['tat_loss']['loss_weight']
            for key in list(values):
                if key.startswith('distill.') and values[key] is not None:
                    values[key + '.unweighted'] = values[key] / weight
        n = it - 1
        for key, value in values.items():
            series = self.losses.setdefault(key, [None] * n)
            series.extend([None] * (n - len(series)))
            series.append(_r(value) if value is not None else None)
        if it % 10 == 0 or it == 1:
            self.lr.append(
                dict(iter=it,
                     lr=_r(runner.optim_wrapper.get_lr()['lr'][0])))
        if (self.measure_interval and self.kind != 'teacher'
                and it == runner.max_iters):
            # the state after the last step, on the last batch
            self._measure(runner, data_batch, it, 'after_last_step')

    # -- validation: the run's own val loop, random state kept --------------
    def before_val(self, runner) -> None:
        self._val_rng = _rng_state()

    def after_val_epoch(self, runner, metrics=None) -> None:
        metrics = dict(metrics or {})
        self.val.append(dict(iter=runner.iter, **{
            k: _r(_f(v)) for k, v in metrics.items()
            if isinstance(v, (int, float, torch.Tensor, np.floating))}))
        log(f'{self.info.get("run")}: iter {runner.iter} val mIoU '
            f'{metrics.get("mIoU")}' + (
                f' (teacher {metrics["teacher.mIoU"]})'
                if 'teacher.mIoU' in metrics else ''))

    def after_val(self, runner) -> None:
        if self._val_rng is not None:
            _set_rng_state(self._val_rng)
            self._val_rng = None

    def after_run(self, runner) -> None:
        record = dict(
            info=self.info, kind=self.kind, losses=self.losses, lr=self.lr,
            val=self.val, measurements=self.measurements,
            train_seconds=round(time.time() - (self._start or time.time()),
                                1))
        tmp = self.out_file + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(record, f)
        os.replace(tmp, self.out_file)

    # -- the extra forward ----------------------------------------------------
    def _measure(self, runner, data_batch, it: int, when: str) -> None:
        start = time.time()
        model = _unwrap(runner.model)
        rng = _rng_state()
        buffers = [b.detach().clone() for b in model.buffers()]
        training = model.training
        try:
            record = self._measure_grads(model, data_batch, it, when)
        finally:
            with torch.no_grad():
                for b, saved in zip(model.buffers(), buffers):
                    b.copy_(saved)
            _set_rng_state(rng)
            model.train(training)
        record['seconds'] = round(time.time() - start, 2)
        self.measurements.append(record)
        if self.kind == 'tat':
            att = record['tat']
            log(f'{self.info.get("run")}: iter {it} ({when}) grad ratio '
                f'distill/CE backbone '
                f'{record["grads"]["backbone"]["ratio"]:.3g}, '
                f'H/logL patch {att["patch"]["entropy_over_logL"]:.3g} '
                f'anchor {att["anchor"]["entropy_over_logL"]:.3g}, '
                f'|g| q {record["grads"]["tat.query_embed"]["distill"]:.3g}'
                f' k {record["grads"]["tat.key_embed"]["distill"]:.3g} '
                f'v {record["grads"]["tat.value_embed"]["distill"]:.3g}; '
                'student-feature |g| via q / v '
                f'{att["feature_grad_norm"]["query_path"]:.3g} / '
                f'{att["feature_grad_norm"]["value_path"]:.3g}')

    def _measure_grads(self, model, data_batch, it: int, when: str) -> dict:
        model.train()
        data = model.data_preprocessor(copy.deepcopy(data_batch), True)
        with torch.enable_grad():
            losses = model.loss(data['inputs'], data['data_samples'])
        ce_terms = {k: v for k, v in losses.items() if 'loss_ce' in k}
        distill_terms = {
            k: v for k, v in losses.items()
            if k.startswith('distill.') and 'loss' in k
        }
        ce = sum(ce_terms.values())
        distill = sum(distill_terms.values()) if distill_terms else None
        groups = _param_groups(model, self.kind)
        params = [p for ps in groups.values() for p in ps]
        # parameters may sit in several groups (bottleneck in decode head):
        # grad once per distinct parameter
        unique = list({id(p): p for p in params}.values())
        index = {id(p): i for i, p in enumerate(unique)}

        def grads_of(term, retain):
            g = torch.autograd.grad(term, unique, retain_graph=retain,
                                    allow_unused=True)
            return [torch.zeros_like(p) if x is None else x
                    for p, x in zip(unique, g)]

        g_ce = grads_of(ce, distill is not None)
        g_d = grads_of(distill, False) if distill is not None else None
        out_groups = {}
        for name, ps in groups.items():
            idx = [index[id(p)] for p in ps]
            n_ce = _norm(g_ce[i] for i in idx)
            entry = dict(ce=_r(n_ce), param_norm=_r(_norm(ps)))
            init = self._initial[name]
            entry['drift'] = _r(
                _norm(p.detach() - p0 for p, p0 in zip(ps, init)))
            if g_d is not None:
                n_d = _norm(g_d[i] for i in idx)
                dot = sum(float((g_ce[i].double() * g_d[i].double()).sum())
                          for i in idx)
                entry.update(
                    distill=_r(n_d),
                    ratio=_r(n_d / n_ce) if n_ce > 0 else None,
                    cos=_r(dot / (n_ce * n_d)) if n_ce * n_d > 0 else None)
            out_groups[name] = entry
        record = dict(
            iter=it, when=when,
            losses={k: _r(_f(v)) for k, v in {**ce_terms,
                                               **distill_terms}.items()},
            grads=out_groups)
        if self.kind == 'tat':
            loss = _tat_loss_of(model)
            mappings = model.distiller.loss_forward_mappings
            mapping = next(iter(mappings.values()))
            preds_S = model.distiller.get_record(**mapping['preds_S'])
            preds_T = model.distiller.get_record(**mapping['preds_T'])
            preds_S = preds_S.detach().contiguous()
            preds_T = preds_T.detach().contiguous()
            tat = tat_branches(loss, preds_S, preds_T)
            weighted = sum(distill_terms.values())
            tat['unweighted_logged'] = _r(_f(weighted) / loss.loss_weight)
            tat['feature_grad_norm'] = feature_path_grads(
                loss, preds_S, preds_T)
            record['tat'] = tat
            first_or_last = (it == 0 or when == 'after_last_step')
            if first_or_last and not isinstance(loss, ScaledLogitsTaTLoss):
                record['release_check'] = release_check(
                    loss, preds_S, preds_T)
        return record


# ---------------------------------------------------------------------------
# runs
# ---------------------------------------------------------------------------
def _load_run(path: str) -> Optional[dict]:
    if not osp.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def _run_config(name: str, args, configs: Dict[str, Config], data_root: str,
                seed: int, init: str, teacher_ckpt: str,
                work_dir: str) -> tuple:
    """The shrunk config of run ``name`` and its hook settings."""
    common = dict(data_root=data_root, batch_size=args.batch_size, seed=seed,
                  log_interval=10)
    scaled = name.endswith('_scaled')
    if name == 'student':
        cfg, kind, source = configs['baseline'], 'plain', BASELINE_CONFIG
        info = dict(config=display_config(BASELINE_CONFIG))
    elif name.startswith('tat_w'):
        weight = float(name[len('tat_w'):].replace('_scaled', ''))
        cfg = copy.deepcopy(configs['tat'])
        cfg.model.distiller.loss_weight = weight
        kind, source = 'tat', TAT_CONFIG
        info = dict(config=display_config(TAT_CONFIG), loss_weight=weight,
                    diagnostic_scaled_logits=scaled)
    elif name in ('kd', 'cwd'):
        source = KD_CONFIG if name == 'kd' else CWD_CONFIG
        cfg, kind = configs[name], name
        info = dict(config=display_config(source))
    else:
        raise ValueError(name)
    cfg = shrink_for_demo(cfg, work_dir=work_dir, iters=args.iters,
                          name=f'study_s{seed}_{name}', **common)
    cfg.train_cfg.val_interval = min(args.val_interval, args.iters)
    if kind == 'plain':
        start_from(cfg.model, init)
    else:
        cfg.model.teacher_ckpt = teacher_ckpt
        start_from(cfg.model.architecture, init)
    info.update(run=name, seed=seed, iters=args.iters,
                batch_size=args.batch_size, init=_rel(init))
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
        dict(type='DemoStudyHook', out_file=osp.join(work_dir, RUN_FILE),
             kind=kind, info=info, measure_interval=args.measure_interval,
             scaled_logits=scaled)
    ]
    return cfg


def train_run(name: str, args, configs, data_root, seed, init, teacher_ckpt,
              base_dir) -> dict:
    work_dir = osp.join(base_dir, f'seed{seed}', name)
    out_file = osp.join(work_dir, RUN_FILE)
    checkpoint = osp.join(work_dir, f'iter_{args.iters}.pth')
    done = _load_run(out_file)
    if done is not None and osp.isfile(checkpoint):
        log(f'seed {seed} {name}: reusing {_rel(out_file)}')
        return done
    log(f'seed {seed} {name}: training {args.iters} iterations ...')
    cfg = _run_config(name, args, configs, data_root, seed, init,
                      teacher_ckpt, work_dir)
    result = run(cfg)
    record = _load_run(out_file)
    record['final_metrics'] = {
        k: _r(_f(v)) for k, v in result['metrics'].items()
        if isinstance(v, (int, float, np.floating))}
    record['run_seconds'] = result['seconds']
    record['checkpoint'] = _rel(result['checkpoint'])
    with open(out_file, 'w') as f:
        json.dump(record, f)
    log(f'seed {seed} {name}: mIoU {record["final_metrics"].get("mIoU")} '
        f'in {result["seconds"]:.0f} s')
    return record


def train_teacher(args, configs, data_root, base_dir) -> dict:
    work_dir = osp.join(base_dir, 'teacher')
    out_file = osp.join(work_dir, RUN_FILE)
    checkpoint = osp.join(work_dir, f'iter_{args.teacher_iters}.pth')
    done = _load_run(out_file)
    if done is not None and osp.isfile(checkpoint):
        log(f'teacher: reusing {_rel(checkpoint)}')
        return done
    log(f'teacher: training DeepLabV3 R101-D8, {args.teacher_iters} '
        'iterations (as make demo) ...')
    cfg = shrink_for_demo(
        teacher_config(configs['baseline'], configs['tat'], 101),
        data_root=data_root, work_dir=work_dir, iters=args.teacher_iters,
        batch_size=args.batch_size, seed=0, log_interval=10,
        name='study_teacher')
    info = dict(run='teacher', seed=0, iters=args.teacher_iters,
                batch_size=args.batch_size,
                config='teacher of ' + display_config(TAT_CONFIG) +
                ' in the runtime of ' + display_config(BASELINE_CONFIG))
    cfg.custom_hooks = [
        dict(type='DemoStudyHook', out_file=out_file, kind='teacher',
             info=info, measure_interval=0)
    ]
    result = run(cfg)
    record = _load_run(out_file)
    record['final_metrics'] = {
        k: _r(_f(v)) for k, v in result['metrics'].items()
        if isinstance(v, (int, float, np.floating))}
    record['run_seconds'] = result['seconds']
    record['checkpoint'] = _rel(result['checkpoint'])
    with open(out_file, 'w') as f:
        json.dump(record, f)
    log(f'teacher: mIoU {record["final_metrics"].get("mIoU")} in '
        f'{result["seconds"]:.0f} s')
    return record


# ---------------------------------------------------------------------------
# frozen students: can the reconfiguration fit the teacher at all?
# ---------------------------------------------------------------------------
def _features(model, batches, student_mode: str) -> List[tuple]:
    """(student, teacher) recorded features of each pre-processed batch;
    teacher in eval mode (as in the runs), the student in ``student_mode``
    ('train': batch statistics, as TaT sees it during a run)."""
    distiller = model.distiller
    mapping = next(iter(distiller.loss_forward_mappings.values()))
    student = model.student
    buffers = [b.detach().clone() for b in student.buffers()]
    out = []
    with torch.no_grad():
        model.teacher.eval()
        student.train(student_mode == 'train')
        for inputs in batches:
            with distiller.teacher_recorders, distiller.student_recorders:
                model.teacher(inputs, mode='tensor')
                student(inputs, mode='tensor')
            out.append(
                (distiller.get_record(**mapping['preds_S']).detach()
                 .contiguous().clone(),
                 distiller.get_record(**mapping['preds_T']).detach()
                 .contiguous().clone()))
        for b, saved in zip(student.buffers(), buffers):
            b.copy_(saved)
    return out


def _linear_probe(train: List[tuple], val: List[tuple],
                  window=None, ridge: float = 1e-3) -> float:
    """Val MSE of the ridge-regularised least-squares affine map student ->
    teacher at the same position (pooled with ``window`` first, if given),
    fitted on the training features (ridge: ``ridge`` times the mean
    diagonal of X^T X): what an attention that picks the same position
    could reach with a linear value map."""

    def rows(pairs):
        xs, ys = [], []
        for s, t in pairs:
            if window is not None:
                s = F.avg_pool2d(s, window, window)
                t = F.avg_pool2d(t, window, window)
            xs.append(s.double().permute(0, 2, 3, 1).reshape(-1, s.size(1)))
            ys.append(t.double().permute(0, 2, 3, 1).reshape(-1, t.size(1)))
        x = torch.cat(xs)
        return torch.cat([x, torch.ones_like(x[:, :1])], 1), torch.cat(ys)

    x, y = rows(train)
    gram = x.t() @ x
    gram = gram + ridge * gram.diagonal().mean() * torch.eye(
        gram.size(0), dtype=gram.dtype)
    solution = torch.linalg.solve(gram, x.t() @ y)
    xv, yv = rows(val)
    return _f((xv @ solution - yv).pow(2).mean())


def frozen_fit(args, configs, data_root, teacher_ckpt, students: Dict[str,
                                                                      str],
               base_dir) -> dict:
    """Point 4 of the module doc."""
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner
    from mmengine.runner.checkpoint import load_checkpoint
    from mmrazor.registry import MODELS
    out_file = osp.join(base_dir, 'frozen_fit.json')
    done = _load_run(out_file)
    if done is not None and done.get('settings', {}).get('iters') == \
            args.fit_iters and set(done.get('students', {})) == set(students):
        log('frozen fit: reusing ' + _rel(out_file))
        return done
    start = time.time()
    work_dir = osp.join(base_dir, 'frozen_fit')
    cfg = shrink_for_demo(
        copy.deepcopy(configs['tat']), data_root=data_root,
        work_dir=work_dir, iters=args.iters, batch_size=args.batch_size,
        seed=0, log_interval=10, name='study_frozen_fit')
    cfg.model.teacher_ckpt = teacher_ckpt
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(cfg.model))
    model.init_weights()  # the student is loaded below; teacher: its ckpt
    loss_template = _tat_loss_of(model)
    # the cached batches: --fit-batches training batches (augmented as in
    # training) and the validation images, pre-processed once
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    train_inputs = []
    for batch in loader:
        train_inputs.append(model.data_preprocessor(batch, True)['inputs'])
        if len(train_inputs) == args.fit_batches:
            break
    while len(train_inputs) < args.fit_batches:  # another pass if needed
        for batch in loader:
            train_inputs.append(
                model.data_preprocessor(batch, True)['inputs'])
            if len(train_inputs) == args.fit_batches:
                break
    val_loader = Runner.build_dataloader(cfg.val_dataloader, seed=0)
    val_inputs = [
        model.data_preprocessor(batch, False)['inputs']
        for batch in val_loader
    ]
    val_inputs = [torch.cat(val_inputs)[i:i + args.batch_size]
                  for i in range(0, sum(x.size(0) for x in val_inputs),
                                 args.batch_size)]
    results: Dict[str, Any] = dict(
        settings=dict(
            iters=args.fit_iters, batches_cached=args.fit_batches,
            batch_size=args.batch_size, val_images=sum(
                x.size(0) for x in val_inputs),
            student_mode='train (batch statistics, as during a run); '
            'parameters frozen',
            teacher_mode='eval (as during a run)',
            optimizers=dict(
                sgd='SGD lr 0.01 momentum 0.9 weight_decay 5e-4 (the '
                'config optimiser, constant lr)',
                adam='Adam lr 1e-3 (diagnostic: a stronger optimiser)'),
            loss='unweighted (loss_weight 1): 1.0 * L_patch + 0.4 * '
            'L_anchor, embeddings freshly initialised (seed 0) per fit',
            variants=dict(
                tat='TaTLoss as shipped',
                scaled='DIAGNOSTIC: logits / sqrt(d) (ScaledLogitsTaTLoss)'),
        ),
        students={})
    for student_name, checkpoint in students.items():
        load_checkpoint(model.student, checkpoint, map_location='cpu',
                        logger='silent')
        train_feats = _features(model, train_inputs, 'train')
        val_feats = _features(model, val_inputs, 'train')
        val_t = torch.cat([t for _, t in val_feats])
        geometry = loss_template.geometry(*val_t.shape[2:])
        window = geometry.anchor_window
        refs = dict(
            trivial_patch=trivial_reference(val_t),
            trivial_anchor=trivial_reference(
                F.avg_pool2d(val_t, window, window)),
            trivial_patch_per_image=_f(
                val_t.double().var(dim=(2, 3), unbiased=False).mean()),
            linear_probe_patch=_linear_probe(train_feats, val_feats),
            linear_probe_anchor=_linear_probe(train_feats, val_feats,
                                              window))
        pw, aw = loss_template.patch_weight, loss_template.anchor_weight
        refs['trivial_unweighted'] = pw * refs['trivial_patch'] + \
            aw * refs['trivial_anchor']
        refs['linear_probe_unweighted'] = pw * refs['linear_probe_patch'] + \
            aw * refs['linear_probe_anchor']
        refs = {k: _r(v) for k, v in refs.items()}
        entry: Dict[str, Any] = dict(checkpoint=_rel(checkpoint),
                                     references=refs, fits={})
        log(f'frozen fit, {student_name} student: trivial reference '
            f'{refs["trivial_unweighted"]}, linear probe '
            f'{refs["linear_probe_unweighted"]}')
        for variant in ('tat', 'scaled'):
            for opt_name in ('sgd', 'adam'):
                torch.manual_seed(0)
                loss = copy.deepcopy(loss_template)
                for module in loss.modules():
                    if hasattr(module, 'reset_parameters') and module is \
                            not loss:
                        module.reset_parameters()
                loss.loss_weight = 1.0
                if variant == 'scaled':
                    scale_logits(loss)
                loss.train()
                if opt_name == 'sgd':
                    opt = torch.optim.SGD(loss.parameters(), lr=0.01,
                                          momentum=0.9, weight_decay=5e-4)
                else:
                    opt = torch.optim.Adam(loss.parameters(), lr=1e-3)
                series = []
                train_loss = []
                for it in range(args.fit_iters + 1):
                    if it % 10 == 0 or it == args.fit_iters:
                        s_val = torch.cat([s for s, _ in val_feats])
                        stats = tat_branches(loss, s_val, val_t)
                        series.append(dict(iter=it, val=stats))
                    if it == args.fit_iters:
                        break
                    s, t = train_feats[it % len(train_feats)]
                    value = loss(s, t)
                    opt.zero_grad()
                    value.backward()
                    opt.step()
                    train_loss.append(_r(_f(value)))
                entry['fits'][f'{variant}_{opt_name}'] = dict(
                    train_loss=train_loss, series=series)
                last = series[-1]['val']
                log(f'frozen fit, {student_name} student, {variant} '
                    f'{opt_name}: val loss {series[0]["val"]["unweighted_from_branches"]}'  # noqa: E501
                    f' -> {last["unweighted_from_branches"]} (trivial '
                    f'{refs["trivial_unweighted"]}); H/logL patch '
                    f'{last["patch"]["entropy_over_logL"]} anchor '
                    f'{last["anchor"]["entropy_over_logL"]}')
        results['students'][student_name] = entry
    results['seconds'] = round(time.time() - start, 1)
    with open(out_file, 'w') as f:
        json.dump(results, f)
    return results


# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------
def _git(*args) -> str:
    try:
        return subprocess.run(['git', *args], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'


def _fmt(x, spec='.3g') -> str:
    if x is None:
        return '-'
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return format(x, spec)


def _mean_last(series, n=10) -> Optional[float]:
    values = [v for v in (series or [])[-n:] if v is not None]
    return sum(values) / len(values) if values else None


def write_markdown(study: dict, path: str) -> None:
    lines = ['# TaT in the demo: measurements', '',
             f'Command: `{study["command"]}`  ',
             'Invocations on the work dir (wall s): ' + '; '.join(
                 f'`{i["command"]}` {i.get("wall_seconds")}'
                 for i in study.get('invocations', [])) + '  ',
             'Commit the runs used (the training invocation\'s start): '
             f'{study["git"]["commit"]} (tree dirty: '
             f'{study["git"]["dirty"]}; changed code paths: '
             f'{", ".join(study["git"]["changed_code_paths"]) or "none"}); '
             f'files written at {study["git"]["at_write"]["commit"]}  ',
             'Machine: {cpu}, {usable_cores} usable cores, torch {torch} '
             '({torch_threads} threads)'.format(**study['machine']), '']
    teacher = study.get('teacher') or {}
    if teacher:
        lines += [
            f'Teacher (DeepLabV3 R101-D8, {teacher["info"]["iters"]} '
            f'iterations): val mIoU '
            f'{_fmt(teacher.get("final_metrics", {}).get("mIoU"), ".2f")}.',
            '']
    for seed, runs in sorted(study['runs'].items()):
        lines += [f'## Seed {seed}', '',
                  '### Validation mIoU (8 val images) every 20 iterations',
                  '']
        iters = sorted({v['iter'] for r in runs.values() for v in r['val']})
        lines.append('| run | ' + ' | '.join(str(i) for i in iters) +
                     ' | final - student |')
        lines.append('|---|' + '---:|' * (len(iters) + 1))
        base = runs.get('student', {}).get('final_metrics', {}).get('mIoU')
        for name, r in runs.items():
            by_iter = {v['iter']: v.get('mIoU') for v in r['val']}
            final = r.get('final_metrics', {}).get('mIoU')
            delta = (final - base) if (final is not None
                                       and base is not None) else None
            lines.append(f'| {name} | ' + ' | '.join(
                _fmt(by_iter.get(i), '.2f') for i in iters) +
                f' | {_fmt(delta, "+.2f")} |')
        lines += ['', '### Losses, mean of the last 10 iterations', '',
                  '| run | decode CE | aux CE (x0.4) | distill (weighted) '
                  '| distill (unweighted) | total | s/run |',
                  '|---|---:|---:|---:|---:|---:|---:|']
        for name, r in runs.items():
            ls = r['losses']
            dkey = next((k for k in ls if k.startswith('distill.')
                         and not k.endswith('.unweighted')), None)
            lines.append(
                f'| {name} | {_fmt(_mean_last(ls.get("decode.loss_ce")))} '
                f'| {_fmt(_mean_last(ls.get("aux.loss_ce")))} | '
                f'{_fmt(_mean_last(ls.get(dkey)) if dkey else None)} | '
                f'{_fmt(_mean_last(ls.get(dkey + ".unweighted")) if dkey and dkey + ".unweighted" in ls else None)} | '  # noqa: E501
                f'{_fmt(_mean_last(ls.get("loss")))} | '
                f'{_fmt(r.get("run_seconds"), ".0f")} |')
        lines += [
            '', '### Gradient norms: distillation term / cross-entropy '
            '(decode + aux), and their cosine', '',
            'ratio = ||grad distill|| / ||grad CE|| on the parameter group '
            '(extra forward on the iteration\'s batch, no step).', '',
            '| run | iter | backbone \\|g CE\\| | backbone \\|g distill\\| '
            '| backbone ratio | backbone cos | decode head ratio | '
            'bottleneck ratio | q / k / v embed \\|g distill\\| |',
            '|---|---:|---:|---:|---:|---:|---:|---:|---|']
        for name, r in runs.items():
            for m in r['measurements']:
                if m['iter'] not in (0, 10, 50, 100):
                    continue
                g = m['grads']
                emb = '-'
                if 'tat.query_embed' in g:
                    emb = ' / '.join(
                        _fmt(g[f'tat.{p}_embed']['distill'])
                        for p in ('query', 'key', 'value'))
                lines.append(
                    f'| {name} | {m["iter"]} | '
                    f'{_fmt(g["backbone"]["ce"])} | '
                    f'{_fmt(g["backbone"].get("distill"))} | '
                    f'{_fmt(g["backbone"].get("ratio"))} | '
                    f'{_fmt(g["backbone"].get("cos"), ".2f")} | '
                    f'{_fmt(g["decode_head"].get("ratio"))} | '
                    f'{_fmt(g["decode_head.bottleneck"].get("ratio"))} | '
                    f'{emb} |')
        lines += ['', '### TaT attention (on the iteration\'s batch)', '',
                  'H/logL: mean entropy of the softmax over the attended '
                  'positions divided by log L (1: uniform, 0: one-hot); '
                  'max w: mean largest weight; gap: mean difference of the '
                  'two largest logits (capped at the loss\'s logit floor, '
                  '50).', '',
                  '| run | iter | patch L | patch H/logL | patch max w | '
                  'patch gap | anchor L | anchor H/logL | anchor max w | '
                  'anchor gap | L_patch | L_anchor | trivial (unweighted) '
                  '| unweighted | feature \\|g\\| via q / via v |',
                  '|---|---:|' + '---:|' * 12 + '---|']
        for name, r in runs.items():
            for m in r['measurements']:
                if 'tat' not in m or m['iter'] not in (0, 10, 50, 100):
                    continue
                p, a = m['tat']['patch'], m['tat']['anchor']
                fg = m['tat'].get('feature_grad_norm', {})
                lines.append(
                    f'| {name} | {m["iter"]} | {p["positions"]} | '
                    f'{_fmt(p["entropy_over_logL"])} | '
                    f'{_fmt(p["max_weight"])} | '
                    f'{_fmt(p["top2_logit_gap"])} | {a["positions"]} | '
                    f'{_fmt(a["entropy_over_logL"])} | '
                    f'{_fmt(a["max_weight"])} | '
                    f'{_fmt(a["top2_logit_gap"])} | {_fmt(p["mse"])} | '
                    f'{_fmt(a["mse"])} | '
                    f'{_fmt(m["tat"]["trivial_unweighted"])} | '
                    f'{_fmt(m["tat"]["unweighted_logged"])} | '
                    f'{_fmt(fg.get("query_path"))} / '
                    f'{_fmt(fg.get("value_path"))} |')
        checks = [(name, m) for name, r in runs.items()
                  for m in r['measurements'] if 'release_check' in m]
        if checks:
            lines += ['', '### TaTLoss against the float64 release '
                      're-implementation on the run\'s features', '',
                      '| run | iter | loss (mmtat) | loss (release, f64) | '
                      'q / k / v conv grad norm (release) | max rel. grad '
                      'diff |', '|---|---:|---:|---:|---|---:|']
            for name, m in checks:
                c = m['release_check']
                norms = ' / '.join(
                    _fmt(c['grads'][f'{p}_embed.0.weight']['release_norm'])
                    for p in ('query', 'key', 'value'))
                rel = max((g['diff_norm'] / g['release_norm'])
                          for g in c['grads'].values()
                          if g['release_norm'] > 1e-12)
                lines.append(f'| {name} | {m["iter"]} | '
                             f'{_fmt(c["mmtat_loss"], ".6g")} | '
                             f'{_fmt(c["release_loss"], ".6g")} | {norms} |'
                             f' {_fmt(rel)} |')
    fit = study.get('frozen_fit')
    if fit:
        lines += ['', '## Frozen students: only TaT\'s embeddings train', '',
                  f'{fit["settings"]["iters"]} iterations, batch '
                  f'{fit["settings"]["batch_size"]}, '
                  f'{fit["settings"]["batches_cached"]} cached training '
                  'batches; unweighted loss (1.0 L_patch + 0.4 L_anchor) '
                  'on the 8 val images. "scaled" is a diagnostic '
                  '(logits / sqrt(d)), not the method.', '',
                  '| student | fit | loss at 0 | loss at end | trivial | '
                  'linear probe | patch H/logL 0 -> end | anchor H/logL 0 '
                  '-> end |', '|---|---|---:|---:|---:|---:|---|---|']
        for sname, entry in fit['students'].items():
            refs = entry['references']
            for fname, f in entry['fits'].items():
                s0, s1 = f['series'][0]['val'], f['series'][-1]['val']
                lines.append(
                    f'| {sname} | {fname} | '
                    f'{_fmt(s0["unweighted_from_branches"])} | '
                    f'{_fmt(s1["unweighted_from_branches"])} | '
                    f'{_fmt(refs["trivial_unweighted"])} | '
                    f'{_fmt(refs["linear_probe_unweighted"])} | '
                    f'{_fmt(s0["patch"]["entropy_over_logL"])} -> '
                    f'{_fmt(s1["patch"]["entropy_over_logL"])} | '
                    f'{_fmt(s0["anchor"]["entropy_over_logL"])} -> '
                    f'{_fmt(s1["anchor"]["entropy_over_logL"])} |')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


def _command(argv) -> str:
    return ' '.join(['python', osp.relpath(osp.abspath(__file__), ROOT)] +
                    list(argv))


def _invocations(args, argv, wall: float) -> List[dict]:
    """Every invocation on this work dir (a resumed study has several),
    this one's entry updated with its wall time so far."""
    path = osp.join(osp.abspath(args.work_dir), 'invocations.json')
    entries = _load_run(path) or []
    if not entries or entries[-1].get('pid') != os.getpid():
        entries.append(dict(command=_command(argv), pid=os.getpid(),
                            started=time.strftime(
                                '%Y-%m-%d %H:%M:%S',
                                time.localtime(time.time() - wall)),
                            report_only=bool(args.report_only),
                            git=GIT_AT_START))
    entries[-1]['wall_seconds'] = round(wall, 1)
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(entries, f, indent=1)
    return entries


def git_state() -> dict:
    """HEAD, whether the tree is dirty, and the changed paths among those
    the runs execute or read (mmtat, configs, tools, this folder): the
    process imports mmtat and loads the configs when it starts, so the state
    at the start is the code the runs used."""
    source = osp.join(ROOT, '.source_commit')
    if _git('rev-parse', '--is-inside-work-tree') != 'true' and \
            osp.isfile(source):
        # a ``git archive`` of a commit, its hash written beside it
        with open(source) as f:
            return dict(commit=f.read().strip(), dirty=False,
                        changed_code_paths=[],
                        source=f'git archive of the commit in {ROOT}')
    code = _git('status', '--porcelain', '--', 'mmtat', 'configs', 'tools',
                '.dev_scripts', 'setup.py')
    return dict(commit=_git('rev-parse', 'HEAD'),
                dirty=bool(_git('status', '--porcelain')),
                changed_code_paths=[line[3:] for line in code.splitlines()
                                    if line.strip()])


GIT_AT_START = git_state()


def write_outputs(args, argv, study_runs, teacher, fit, wall) -> None:
    os.makedirs(args.out, exist_ok=True)
    invocations = _invocations(args, argv, wall)
    trained = [i for i in invocations if not i.get('report_only')]
    study = dict(
        # the (first) command that trained; --report-only calls are listed
        # in the invocations
        command=(trained[0] if trained else invocations[-1])['command'],
        invocations=invocations,
        # the code the runs used: the state when the training invocation
        # started; at_write: when these files were written
        git=dict(trained[0].get('git', GIT_AT_START) if trained else
                 GIT_AT_START, at_write=git_state()),
        machine=machine_info('cpu'),
        versions=dict(torch=torch.__version__),
        settings=dict(
            crop=CROP, batch_size=args.batch_size, iters=args.iters,
            teacher_iters=args.teacher_iters, num_train=32, num_val=8,
            data_seed=0, val_interval=args.val_interval,
            measure_interval=args.measure_interval,
            tat_weights=list(TAT_WEIGHTS)),
        teacher=teacher, runs=study_runs, frozen_fit=fit,
        wall_seconds=round(wall, 1))
    import importlib.metadata as metadata
    for package in ('mmengine', 'mmcv', 'mmsegmentation', 'mmrazor',
                    'mmpretrain', 'mmtat'):
        try:
            study['versions'][package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            study['versions'][package] = None
    with open(osp.join(args.out, 'study.json'), 'w') as f:
        json.dump(study, f)
    write_markdown(study, osp.join(args.out, 'study.md'))


# ---------------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--work-dir', default=osp.join('work_dirs',
                                                       'demo_study'))
    parser.add_argument('--out', default=osp.join('docs', 'results',
                                                  'demo_study'))
    parser.add_argument('--iters', type=int, default=100)
    parser.add_argument('--teacher-iters', type=int, default=60)
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--val-interval', type=int, default=20)
    parser.add_argument('--measure-interval', type=int, default=10)
    parser.add_argument('--runs', nargs='+', default=list(MAIN_RUNS),
                        help='runs of seed 0 (default: %(default)s)')
    parser.add_argument('--no-diagnostics', action='store_true',
                        help='skip the diagnostic scaled-logit run')
    parser.add_argument('--no-fit', action='store_true',
                        help='skip the frozen-student fit')
    parser.add_argument('--fit-iters', type=int, default=200)
    parser.add_argument('--fit-batches', type=int, default=16)
    parser.add_argument('--extra-seeds', type=int, nargs='*', default=[],
                        help=f'seeds for {", ".join(SEED_RUNS)} as well')
    parser.add_argument('--report-only', action='store_true',
                        help='write study.json/md from what is in the work '
                        'dir, training nothing')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    wall = time.time()
    warnings.filterwarnings('ignore', category=UserWarning)
    warnings.filterwarnings('ignore', category=DeprecationWarning)
    os.chdir(ROOT)
    base_dir = osp.abspath(args.work_dir)
    BASE['dir'] = base_dir
    args.out = osp.abspath(args.out)
    data_root = make_synthetic_voc(
        osp.join(base_dir, 'data', f'voc_32+8_{CROP}px_seed0'), num_train=32,
        num_val=8, image_size=(CROP, CROP), seed=0)
    configs = dict(
        tat=Config.fromfile(TAT_CONFIG),
        baseline=Config.fromfile(BASELINE_CONFIG),
        kd=Config.fromfile(KD_CONFIG),
        cwd=Config.fromfile(CWD_CONFIG))
    log(f'torch {torch.__version__}, {torch.get_num_threads()} threads; '
        f'data in {osp.relpath(data_root, base_dir)}')

    def collect(seed, names):
        found = {}
        for name in names:
            rec = _load_run(osp.join(base_dir, f'seed{seed}', name,
                                     RUN_FILE))
            if rec is not None and 'final_metrics' in rec:
                found[name] = rec
        return found

    seed_runs = {0: list(args.runs) + ([] if args.no_diagnostics else
                                       list(DIAGNOSTIC_RUNS))}
    for seed in args.extra_seeds:
        seed_runs[seed] = list(SEED_RUNS)
    teacher = _load_run(osp.join(base_dir, 'teacher', RUN_FILE))
    fit = _load_run(osp.join(base_dir, 'frozen_fit.json'))
    if args.report_only:
        study_runs = {s: collect(s, n) for s, n in seed_runs.items()}
        write_outputs(args, argv, study_runs, teacher, fit,
                      time.time() - wall)
        return

    teacher = train_teacher(args, configs, data_root, base_dir)
    teacher_ckpt = osp.join(base_dir, teacher['checkpoint'])
    study_runs: Dict[int, Dict[str, dict]] = {}
    main_runs = [r for r in seed_runs[0] if r not in DIAGNOSTIC_RUNS]
    diagnostics = [r for r in seed_runs[0] if r in DIAGNOSTIC_RUNS]

    def do_runs(seed, names):
        init = osp.join(base_dir, f'seed{seed}', 'student_init.pth')
        if not osp.isfile(init):
            student_cfg = shrink_for_demo(
                configs['baseline'], data_root=data_root,
                work_dir=osp.join(base_dir, f'seed{seed}', 'student'),
                iters=args.iters, batch_size=args.batch_size, seed=seed,
                log_interval=10, name=f'study_init_s{seed}')
            save_student_init(student_cfg, init, seed)
        for name in names:
            rec = train_run(name, args, configs, data_root, seed, init,
                            teacher_ckpt, base_dir)
            study_runs.setdefault(seed, {})[name] = rec
            write_outputs(args, argv, study_runs, teacher, fit,
                          time.time() - wall)

    do_runs(0, [r for r in main_runs if r == 'student'])
    if not args.no_fit and 'student' in study_runs.get(0, {}):
        students = dict(
            init=osp.join(base_dir, 'seed0', 'student_init.pth'),
            trained=osp.join(base_dir,
                             study_runs[0]['student']['checkpoint']))
        fit = frozen_fit(args, configs, data_root, teacher_ckpt, students,
                         base_dir)
        write_outputs(args, argv, study_runs, teacher, fit,
                      time.time() - wall)
    do_runs(0, [r for r in main_runs if r != 'student'])
    do_runs(0, diagnostics)
    for seed in args.extra_seeds:
        do_runs(seed, seed_runs[seed])
    write_outputs(args, argv, study_runs, teacher, fit, time.time() - wall)
    log(f'done in {time.time() - wall:.0f} s; written to '
        f'{osp.relpath(args.out, ROOT)}/study.json and study.md')


if __name__ == '__main__':
    main()
