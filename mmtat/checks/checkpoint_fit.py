"""Whether a checkpoint's tensors fit a model, and the clauses that say how
they do not.

mmengine loads checkpoints with ``strict=False``: weights missing from the
checkpoint keep their initial values and mmengine only warns.
:func:`checkpoint_fit_problems` compares the two beforehand, for the
evaluated model (:class:`~mmtat.engine.hooks.CheckpointFitHook`), a resumed
run (:class:`~mmtat.engine.hooks.ResumeFitHook`), a teacher
(:mod:`mmtat.checks.teacher_fit`) and the checkpoint of ``tools/analysis/
visualize_tat.py``.
"""
import re
from typing import Any, Dict, List, Optional

import torch
from mmengine.model import is_model_wrapper

__all__ = [
    'UNEXPECTED_TOLERANCE', 'checkpoint_fit_problems', 'evaluated_prefix',
    'format_examples', 'misfit_parts', 'checkpoint_run_name',
    'optimizer_groups'
]

#: Unexpected tensors tolerated (a fraction of the checkpoint's): extra
#: weights, e.g. an auxiliary head the test config drops, change no
#: prediction; many of them mean the checkpoint is another model's.
UNEXPECTED_TOLERANCE = 0.01
_IGNORED = re.compile(r'(^|\.)num_batches_tracked$')
_EXAMPLES = 3
_TIMESTAMP = re.compile(r'_\d{8}_\d{6}$')


def evaluated_prefix(model: Any) -> str:
    """The key prefix of the weights an evaluation of ``model`` uses."""
    # An MMRazor distillation algorithm predicts with its student
    # (``architecture``); its teacher comes from ``teacher_ckpt``.
    if hasattr(model, 'architecture') and hasattr(model, 'teacher'):
        return 'architecture.'
    return ''


def checkpoint_fit_problems(model: Any,
                            checkpoint: Dict[str, Any],
                            prefix: Optional[str] = None) -> Dict[str, List]:
    """Compare a checkpoint's tensors with a model's.

    Args:
        prefix: the weights that must be in the checkpoint, by key prefix;
            by default those an evaluation uses (a distillation algorithm's
            student), ``''`` for all of them.

    Returns:
        ``missing`` (weights the evaluation uses that the checkpoint lacks),
        ``mismatched`` (``(key, model shape, checkpoint shape)``) and
        ``unexpected`` (checkpoint tensors that fit no weight), BN counters
        (``num_batches_tracked``) left out.
    """
    if is_model_wrapper(model):
        model = model.module
    state = checkpoint.get('state_dict', checkpoint)
    # mmengine's loader strips a DDP prefix the same way
    ckpt = {
        re.sub(r'^module\.', '', k): v
        for k, v in state.items() if isinstance(k, str)
        and torch.is_tensor(v) and not _IGNORED.search(k)
    }
    own = {
        k: v
        for k, v in model.state_dict().items() if not _IGNORED.search(k)
    }
    if prefix is None:
        prefix = evaluated_prefix(model)
    missing = [k for k in own if k.startswith(prefix) and k not in ckpt]
    mismatched = [(k, tuple(own[k].shape), tuple(ckpt[k].shape))
                  for k in own
                  if k.startswith(prefix) and k in ckpt
                  and own[k].shape != ckpt[k].shape]
    unexpected = [k for k in ckpt if k not in own]
    return dict(missing=missing, mismatched=mismatched,
                unexpected=unexpected, evaluated=[
                    k for k in own if k.startswith(prefix)
                ], checkpoint=list(ckpt))


def format_examples(keys: List[Any]) -> str:
    shown = ', '.join(
        f'{k[0]} (model {k[1]}, checkpoint {k[2]})' if isinstance(k, tuple)
        else k for k in keys[:_EXAMPLES])
    return shown + (', ...' if len(keys) > _EXAMPLES else '')


def misfit_parts(found: Dict[str, List], weights: str,
                 owner: str) -> List[str]:
    """The clauses that describe what :func:`checkpoint_fit_problems`
    found: ``'N of the M <weights> are not in it (e.g. ...)'``, ``'N have
    another shape (...)'``, ``'N of its T tensors belong to no <owner>
    (...)'``, for those that apply."""
    parts = []
    if found['missing']:
        parts.append(f'{len(found["missing"])} of the '
                     f'{len(found["evaluated"])} {weights} are not in it '
                     f'(e.g. {format_examples(found["missing"])})')
    if found['mismatched']:
        parts.append(f'{len(found["mismatched"])} have another shape (e.g. '
                     f'{format_examples(found["mismatched"])})')
    if found['unexpected']:
        parts.append(f'{len(found["unexpected"])} of its '
                     f'{len(found["checkpoint"])} tensors belong to no '
                     f'{owner} (e.g. {format_examples(found["unexpected"])})')
    return parts


def checkpoint_run_name(checkpoint: Dict[str, Any]) -> Optional[str]:
    """The config name of the run that wrote ``checkpoint`` (mmengine's
    ``meta.experiment_name`` is ``<config name>_<timestamp>``)."""
    name = (checkpoint.get('meta') or {}).get('experiment_name')
    if not isinstance(name, str) or not name:
        return None
    return _TIMESTAMP.sub('', name)


def optimizer_groups(state: Any) -> Optional[List[int]]:
    """Parameters per group of an optimizer state dict (None if it is not
    one, e.g. the dict of an ``OptimWrapperDict``)."""
    if not isinstance(state, dict) or not isinstance(
            state.get('param_groups'), list):
        return None
    return [len(group.get('params', ())) for group in state['param_groups']]
