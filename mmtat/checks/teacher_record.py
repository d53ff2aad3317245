"""The record of a frozen teacher's weights file in a checkpoint saved
without the teacher.

A distillation checkpoint holds the student, the distiller's own weights,
the optimizer and the run's state.  A frozen teacher in eval mode
(``teacher_trainable=False``, ``teacher_norm_eval=True``) never changes
after MMRazor loads it from ``model.teacher_ckpt``, so
:class:`~mmtat.engine.hooks.FrozenTeacherCheckpointHook` leaves its weights
out of the checkpoint and records the file they come from under
``meta[`` :data:`META_KEY` ``]``: the path as the config names it, the
local file read (the path, or the download cache's copy of a URL), its
size and its SHA-256.  Loading the checkpoint takes the teacher from that
file again; :func:`teacher_record_problem` says why that is not possible
(no file, another file's content, no ``teacher_ckpt``).
"""
import hashlib
import os
import os.path as osp
from typing import Any, Dict, Optional, Tuple

from ..utils.errors import InputError
from .config_checkpoints import REMOTE_PREFIXES
from .remote_files import download_cache_path

__all__ = [
    'META_KEY', 'TEACHER_PREFIX', 'file_sha256', 'teacher_file',
    'teacher_record', 'checkpoint_teacher_record', 'holds_teacher',
    'teacher_left_out', 'teacher_record_problem', 'left_out_teacher_record',
    'check_left_out_teacher'
]

#: where a checkpoint records the teacher's weights file (in its meta)
META_KEY = 'teacher_checkpoint'
#: the key prefix of a SingleTeacherDistill's teacher in its state dict
TEACHER_PREFIX = 'teacher.'

_HASHES: Dict[Tuple[str, int, int], str] = {}


def file_sha256(path: str) -> str:
    """The SHA-256 of a file, computed once per process for each content
    (keyed by the file, its size and its modification time)."""
    real = osp.realpath(path)
    stat = os.stat(real)
    key = (real, stat.st_size, stat.st_mtime_ns)
    if key not in _HASHES:
        digest = hashlib.sha256()
        with open(real, 'rb') as f:
            for block in iter(lambda: f.read(1 << 22), b''):
                digest.update(block)
        _HASHES[key] = digest.hexdigest()
    return _HASHES[key]


def _is_remote(path: str) -> bool:
    return path.startswith(REMOTE_PREFIXES) or '://' in path


def teacher_file(teacher_ckpt: Optional[str]) -> Optional[str]:
    """The local file of ``teacher_ckpt``: the path itself, or the download
    cache's copy of a URL; None if there is none (yet)."""
    if not teacher_ckpt or not isinstance(teacher_ckpt, str):
        return None
    path = download_cache_path(teacher_ckpt) if _is_remote(
        teacher_ckpt) else teacher_ckpt
    return path if path and osp.isfile(path) else None


def teacher_record(teacher_ckpt: str, keys: int) -> Optional[Dict[str, Any]]:
    """What a checkpoint without the teacher records of its weights file
    (None when ``teacher_ckpt`` has no local file)."""
    path = teacher_file(teacher_ckpt)
    if path is None:
        return None
    return dict(path=teacher_ckpt, file=osp.abspath(path),
                size=osp.getsize(path), sha256=file_sha256(path), keys=keys)


def checkpoint_teacher_record(checkpoint: Any) -> Optional[Dict[str, Any]]:
    """The teacher record of a loaded checkpoint dict (None if it has
    none)."""
    if not isinstance(checkpoint, dict):
        return None
    record = (checkpoint.get('meta') or {}).get(META_KEY)
    return record if isinstance(record, dict) else None


def holds_teacher(checkpoint: Any) -> bool:
    """Whether the checkpoint's state dict has teacher weights."""
    state = checkpoint.get('state_dict', checkpoint) if isinstance(
        checkpoint, dict) else {}
    return any(
        isinstance(k, str) and (k.startswith(TEACHER_PREFIX)
                                or k.startswith('module.' + TEACHER_PREFIX))
        for k in state)


def teacher_left_out(checkpoint: Any) -> bool:
    """Whether the checkpoint was saved without its frozen teacher, whose
    weights file it records (its missing ``teacher.*`` keys are expected)."""
    return (checkpoint_teacher_record(checkpoint) is not None
            and not holds_teacher(checkpoint))


def teacher_record_problem(record: Dict[str, Any],
                           teacher_ckpt: Optional[str],
                           checkpoint_name: str) -> Optional[str]:
    """Why the teacher of a checkpoint saved without it cannot be taken
    from this run's ``model.teacher_ckpt`` (None: it can, bitwise)."""
    recorded = (f'{record.get("path")} ({record.get("size")} bytes, sha256 '
                f'{str(record.get("sha256"))[:16]}...)')
    head = (f'The checkpoint {checkpoint_name} was saved without its frozen '
            f'teacher, whose weights come from {recorded}')
    if not teacher_ckpt:
        return (f'{head}; this run\'s model.teacher_ckpt is not set, so the '
                'teacher would start from random weights. Set --cfg-options '
                f'model.teacher_ckpt={record.get("path")}')
    path = teacher_file(teacher_ckpt)
    if path is None:
        where = (f'{teacher_ckpt} (its download, '
                 f'{download_cache_path(teacher_ckpt)})'
                 if _is_remote(teacher_ckpt) else teacher_ckpt)
        return (f'{head}; that file is not on this machine: '
                f'model.teacher_ckpt = {where} does not exist. Put the file '
                'back there, or point --cfg-options model.teacher_ckpt= at '
                'a copy of it')
    sha = file_sha256(path)
    if sha != record.get('sha256'):
        return (f'{head}; this run\'s model.teacher_ckpt = {teacher_ckpt} '
                f'has other content ({osp.getsize(path)} bytes, sha256 '
                f'{sha[:16]}...), so the run would go on with another '
                'teacher. Point --cfg-options model.teacher_ckpt= at the '
                'file it was trained with')
    return None


def left_out_teacher_record(path: str) -> Optional[Dict[str, Any]]:
    """The teacher record of the checkpoint file ``path`` if it was saved
    without its teacher (None otherwise, or if the file cannot be read
    without reading its tensors: it is mapped, not read)."""
    import torch

    from ..compat import mmengine_checkpoint_globals
    try:
        with mmengine_checkpoint_globals():
            checkpoint = torch.load(path, map_location='cpu', mmap=True,
                                    weights_only=True)
    except Exception:  # a legacy pickle, another format: not looked at
        return None
    if not teacher_left_out(checkpoint):
        return None
    return checkpoint_teacher_record(checkpoint)


def check_left_out_teacher(cfg: Any) -> None:
    """Refuse, before anything is built, a training run whose ``load_from``
    (``--resume``'s checkpoint included) was saved without its teacher
    when this run's ``model.teacher_ckpt`` is not that teacher's file
    (:func:`teacher_record_problem`).  A URL not downloaded yet is
    compared once it is (by the hook, after the model is built).

    Raises:
        InputError: the paragraph, with the path and the fix.
    """
    load_from = cfg.get('load_from') if hasattr(cfg, 'get') else None
    if not isinstance(load_from, str) or _is_remote(load_from) or \
            not osp.isfile(load_from):
        return
    record = left_out_teacher_record(load_from)
    if record is None:
        return
    model = cfg.get('model')
    teacher_ckpt = model.get('teacher_ckpt') if isinstance(model,
                                                           dict) else None
    if isinstance(teacher_ckpt, str) and _is_remote(
            teacher_ckpt) and teacher_file(teacher_ckpt) is None:
        return
    problem = teacher_record_problem(record, teacher_ckpt, load_from)
    if problem is not None:
        what = '--resume' if cfg.get('resume') else 'load_from'
        raise InputError(f'{what}: {problem}. Nothing was started.')
