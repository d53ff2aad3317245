"""Local checkpoint files: refuse missing, empty or truncated ones up front,
and find the newest complete checkpoint of a work dir to resume from.

A checkpoint is only read when the model is built (``model.teacher_ckpt``),
initialised (``pretrained``) or loaded (``load_from``, ``--resume``), i.e.
after the datasets and networks are set up; a wrong path then costs minutes
and ends in a traceback.  :func:`checkpoint_file_problem` looks at a file in
milliseconds: it must exist, be non-empty, and be a complete ``torch.save``
archive (the zip directory that torch writes last is there) or a legacy
pickle.  It reads no tensors, so a bit flip inside a complete archive is
not found (torch's own load reports it).
"""
import os
import os.path as osp
import re
import zipfile
from typing import Any, List, Optional, Tuple

from ..utils.errors import InputError
from .config_checkpoints import REMOTE_PREFIXES, walk_checkpoint_keys

__all__ = [
    'checkpoint_file_problem', 'check_checkpoint_file',
    'check_local_checkpoints', 'latest_checkpoint'
]

_PICKLE_PROTO = b'\x80'  # first byte of a protocol >= 2 pickle
_ZIP_MAGIC = b'PK'
_CHECKPOINT_NAME = re.compile(r'^(?:iter|epoch)_(\d+)\.pth$')


def checkpoint_file_problem(path: str) -> Optional[str]:
    """None if ``path`` is a complete checkpoint file, else what is wrong
    ("does not exist", "is empty (0 bytes)", "is truncated ...", ...)."""
    if not osp.exists(path):
        return 'does not exist'
    if not osp.isfile(path):
        return 'is a directory, not a checkpoint file'
    size = osp.getsize(path)
    if size == 0:
        return 'is empty (0 bytes)'
    with open(path, 'rb') as f:
        head = f.read(8)
    if head.startswith(_ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as archive:
                names = archive.namelist()
        except (zipfile.BadZipFile, OSError) as err:
            return (f'is truncated or corrupt ({size} bytes, not a complete '
                    f'torch.save archive: {err})')
        if not any(n == 'data.pkl' or n.endswith('/data.pkl')
                   for n in names):
            return 'is a zip archive but not a torch checkpoint (no data.pkl)'
        return None
    if head.startswith(_PICKLE_PROTO):
        return None  # torch.save(..., _use_new_zipfile_serialization=False)
    return (f'is not a torch checkpoint ({size} bytes starting with '
            f'{head[:8]!r}; e.g. an error page saved instead of the file)')


def check_checkpoint_file(path: str, what: str, fix: str = '') -> None:
    """Raise :class:`InputError` if ``path`` is not a complete checkpoint.

    Args:
        path: the file.
        what: how the user gave it (``--resume``, ``model.teacher_ckpt``).
        fix: what to do instead, appended to the message.
    """
    problem = checkpoint_file_problem(path)
    if problem is not None:
        raise InputError(f'{what} = {path}: the file {problem}. Nothing was '
                         f'started. {fix}'.rstrip())


def _is_local(value: Any) -> bool:
    return (isinstance(value, str) and bool(value)
            and not value.startswith(REMOTE_PREFIXES) and '://' not in value)


def check_local_checkpoints(cfg: Any, mode: str = 'train') -> None:
    """Refuse local checkpoint paths of ``cfg`` that a run of ``mode``
    would load and that are missing, empty or truncated.

    The keys are those :func:`mmtat.checks.find_remote_files` walks
    (``load_from``, ``teacher_ckpt``, ``pretrained``, ``init_cfg``
    checkpoints); remote ones are checked by
    :func:`mmtat.checks.check_remote_files`.

    Raises:
        InputError: naming every bad key, its path and what is wrong.
    """
    problems = []
    teacher_to_train = False
    for key, value in walk_checkpoint_keys(cfg, mode, _is_local):
        problem = checkpoint_file_problem(value)
        if problem is not None:
            problems.append(f'{key} = {value}: the file {problem}')
            # mmtat's configs name a teacher trained first by the work dir
            # its own config writes (work_dirs/<teacher config>/iter_N.pth)
            teacher_to_train |= (key.endswith('teacher_ckpt')
                                 and value.startswith('work_dirs/'))
    if problems:
        hint = ''
        if teacher_to_train:
            hint = (' The teacher of this config is trained first: run the '
                    'teacher config named in the config\'s comment (e.g. '
                    'configs/baselines/deeplabv3_r101_camvid.py) from this '
                    'directory, or the whole table in order with '
                    'tools/reproduce.py TABLE.')
        raise InputError(
            f'{len(problems)} checkpoint file(s) of this run cannot be '
            'loaded: ' + '; '.join(problems) + '. Nothing was started. '
            'Point each key at a complete checkpoint (--cfg-options '
            'KEY=/path/to/file.pth), or KEY=None for a network that may '
            'start from random weights.' + hint)


def _pointed_file(work_dir: str, pointer: str) -> Optional[str]:
    with open(pointer) as f:
        name = f.read().strip()
    if not name:
        return None
    # mmengine writes the path as it joined it, relative to the directory
    # the run started in; fall back to the file name inside the work dir.
    if osp.isabs(name) or osp.exists(name):
        return name
    return osp.join(work_dir, osp.basename(name))


def latest_checkpoint(work_dir: str) -> Tuple[Optional[str], List[str]]:
    """The newest complete checkpoint in ``work_dir`` to resume from.

    ``last_checkpoint`` (mmengine's pointer) wins when it names a complete
    file; otherwise (a run killed while writing it, or its checkpoint) the
    ``iter_N.pth`` / ``epoch_N.pth`` with the highest N that is complete.

    Returns:
        ``(path or None, notes)``: notes say what was skipped and why.
    """
    notes: List[str] = []
    if not osp.isdir(work_dir):
        return None, notes
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        pointed = _pointed_file(work_dir, pointer)
        if pointed is None:
            notes.append(f'{pointer} is empty')
        else:
            problem = checkpoint_file_problem(pointed)
            if problem is None:
                return pointed, notes
            notes.append(f'{pointer} names {pointed}, which {problem}')
    numbered = []
    for name in os.listdir(work_dir):
        match = _CHECKPOINT_NAME.match(name)
        if match:
            numbered.append((int(match.group(1)), name))
    for _, name in sorted(numbered, reverse=True):
        path = osp.join(work_dir, name)
        problem = checkpoint_file_problem(path)
        if problem is None:
            return path, notes
        notes.append(f'skipped {path}: it {problem}')
    return None, notes
