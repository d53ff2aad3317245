"""Which checkpoint files a config makes a run load, and where they come
from (a local path or a download).

Both pre-flight checks walk the config the same way:
:mod:`~mmtat.checks.checkpoint_files` looks at the local files and
:mod:`~mmtat.checks.remote_files` at the downloads, so the walk lives here,
below both of them.
"""
from typing import Any, Callable, Iterator, Optional, Tuple

__all__ = [
    'URL_PREFIXES', 'ZOO_PREFIXES', 'REMOTE_PREFIXES', 'MODES', 'RUN_KEYS',
    'is_remote', 'hub_weights', 'walk_checkpoint_keys'
]

URL_PREFIXES = ('http://', 'https://')
ZOO_PREFIXES = ('open-mmlab://', 'openmmlab://', 'torchvision://',
                'modelzoo://', 'mmcls://')
#: Path prefixes of files that mmengine's CheckpointLoader downloads.
REMOTE_PREFIXES = URL_PREFIXES + ZOO_PREFIXES

#: ``'train'``: the model is built and initialised, then ``load_from`` is
#: loaded; ``'test'``: built and ``load_from`` loaded, no ``init_weights``.
MODES = ('train', 'test')
#: The top-level keys a run loads checkpoints from.  Other top-level names
#: are never built (a config's helper variables, e.g. the networks that
#: configs/_base_/networks/segformer_mit.py shares), so their paths are not
#: loaded either.
RUN_KEYS = ('model', 'load_from')


def is_remote(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(REMOTE_PREFIXES)


def hub_weights(cfg_path: str) -> Optional[str]:
    """The checkpoint that ``mmengine.hub.get_model(cfg_path,
    pretrained=True)`` loads: the ``Weights`` of the config's model-index
    entry; None where mmengine cannot find it (the build then fails with
    mmengine's own message)."""
    from mmengine import hub
    try:
        return hub.get_config(cfg_path, pretrained=True).get('model_path')
    except Exception:
        return None


def _walk(node: Any, path: str, mode: str, from_ckpt: bool,
          want: Callable[[Any], bool]) -> Iterator[Tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            sub = f'{path}.{key}' if path else str(key)
            if key == 'pretrained' and value and isinstance(
                    node.get('cfg_path'), str):
                # a model given by ``cfg_path`` (MMRazor's architecture /
                # teacher) loads its weights when it is built, whatever the
                # mode and teacher_ckpt
                weights = hub_weights(node['cfg_path'])
                if want(weights):
                    yield sub, weights
            elif key in ('load_from', 'teacher_ckpt') and want(value):
                yield sub, value
            elif (key == 'pretrained' and mode == 'train' and not from_ckpt
                  and want(value)):
                yield sub, value
            elif (key == 'checkpoint' and mode == 'train' and not from_ckpt
                  and node.get('type') == 'Pretrained' and want(value)):
                yield sub, value
            else:
                # A teacher loaded from ``teacher_ckpt`` is marked
                # initialised (MMRazor's SingleTeacherDistill), so its own
                # ``pretrained`` / ``init_cfg`` are never fetched.
                child_from_ckpt = from_ckpt or (
                    key == 'teacher' and bool(node.get('teacher_ckpt')))
                yield from _walk(value, sub, mode, child_from_ckpt, want)
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from _walk(value, f'{path}.{index}', mode, from_ckpt, want)


def walk_checkpoint_keys(cfg: Any,
                         mode: str,
                         want: Callable[[Any], bool] = is_remote
                         ) -> Iterator[Tuple[str, str]]:
    """``(dotted key, value)`` of every checkpoint path a run of ``mode``
    loads, in config order, for which ``want(value)``.

    The keys are ``load_from``, ``teacher_ckpt``, ``pretrained`` and the
    ``checkpoint`` of ``init_cfg=dict(type='Pretrained')``, under
    :data:`RUN_KEYS` only; ``pretrained`` and ``init_cfg`` only in training
    (testing calls no ``init_weights``), and not inside a teacher whose
    weights come from ``teacher_ckpt``.  A model given by ``cfg_path`` with
    a true ``pretrained`` loads its model-index weights when it is built,
    in both modes: its value is that checkpoint (:func:`hub_weights`).
    """
    if mode not in MODES:
        raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
    if hasattr(cfg, 'to_dict'):
        cfg = cfg.to_dict()
    run = {key: cfg[key] for key in RUN_KEYS if key in cfg}
    return _walk(run, '', mode, False, want)
