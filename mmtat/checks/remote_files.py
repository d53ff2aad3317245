"""Pre-flight check of the checkpoint files a config would download.

A distillation config names up to three remote files: the teacher checkpoint
(``model.teacher_ckpt``, loaded when the model is built) and the ImageNet
weights of both backbones (``model.teacher.pretrained`` and
``model.architecture.pretrained``, loaded by ``init_weights`` when training
starts).  On a machine without network access mmengine only fails when it
reaches them, after the datasets and the model are built, with a bare
``URLError``.  :func:`check_remote_files` finds them all up front:

* it walks the config for checkpoint paths
  (:func:`~mmtat.checks.config_checkpoints.walk_checkpoint_keys`):
  ``load_from``, ``teacher_ckpt``, ``pretrained`` and the ``checkpoint`` of
  ``init_cfg=dict(type='Pretrained')``, skipping those a run of the given
  ``mode`` never loads (``pretrained`` and ``init_cfg`` in testing, where
  ``init_weights`` is not called; those of a teacher whose weights come
  from ``teacher_ckpt``), and the model-index weights that a ``cfg_path``
  model with a true ``pretrained`` loads when it is built;
* it keeps the remote ones: ``http(s)://`` URLs and the model-zoo names
  ``open-mmlab://``, ``openmmlab://``, ``torchvision://``, ``modelzoo://``
  and ``mmcls://``, resolved to their URLs with mmengine's own tables;
* it skips those already in the download cache (``<torch hub dir>/
  checkpoints/<file name>``, where mmengine looks before downloading);
* it tries to reach the rest, all at once, each with a short timeout, and
  raises :class:`RemoteFileUnavailableError` naming every file it could not
  reach and the ``--cfg-options`` that points the config at a local copy.

``MMTAT_SKIP_REMOTE_CHECK=1`` switches the check off and
``MMTAT_REMOTE_CHECK_TIMEOUT`` (seconds, default 5) sets the timeout.
"""
import os
import os.path as osp
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from .checkpoint_files import checkpoint_file_problem
from .config_checkpoints import (
    REMOTE_PREFIXES,
    URL_PREFIXES,
    walk_checkpoint_keys,
)

__all__ = [
    'RemoteFile', 'RemoteFileUnavailableError', 'find_remote_files',
    'check_remote_files', 'checkpoint_cache_dir', 'download_cache_path',
    'REMOTE_PREFIXES'
]

SKIP_ENV = 'MMTAT_SKIP_REMOTE_CHECK'
TIMEOUT_ENV = 'MMTAT_REMOTE_CHECK_TIMEOUT'
DEFAULT_TIMEOUT = 5.0



class RemoteFileUnavailableError(RuntimeError):
    """A checkpoint the run needs can neither be found in the download cache
    nor be fetched."""


@dataclass
class RemoteFile:
    """One remote checkpoint path of a config.

    Attributes:
        key: dotted config key, as ``--cfg-options`` takes it
            (``model.teacher_ckpt``, ``model.backbone.init_cfg.checkpoint``).
        value: the path written in the config.
        url: the URL it is downloaded from (None when it cannot be resolved).
        cache_path: where the download is cached, and looked for first.
        error: why it cannot be resolved (``url`` is None) or, after
            :func:`check_remote_files`, why it could not be reached.
        hub_config: for the ``pretrained`` of a model given by
            ``cfg_path``, that ``cfg_path`` (``value`` is then the weights
            of its model-index entry, which mmengine.hub loads).
    """
    key: str
    value: str
    url: Optional[str] = None
    cache_path: Optional[str] = None
    error: Optional[str] = None
    hub_config: Optional[str] = None

    @property
    def cached(self) -> bool:
        """A complete copy is in the download cache (an empty or truncated
        one, e.g. from an interrupted download, is not)."""
        return (self.cache_path is not None and osp.isfile(self.cache_path)
                and self.cache_problem is None)

    @property
    def cache_problem(self) -> Optional[str]:
        """What is wrong with the copy in the download cache; None when
        there is none or it is complete."""
        if self.cache_path is None or not osp.exists(self.cache_path):
            return None
        return checkpoint_file_problem(self.cache_path)


def checkpoint_cache_dir() -> str:
    """The directory mmengine (through ``torch.hub``) downloads into."""
    import torch.hub
    return osp.join(torch.hub.get_dir(), 'checkpoints')


def _resolve(value: str) -> Tuple[Optional[str], Optional[str]]:
    """Return ``(url, error)`` for a remote path, as mmengine resolves it."""
    if value.startswith(URL_PREFIXES):
        return value, None
    from mmengine.runner import checkpoint as ckpt
    try:
        if value.startswith(('open-mmlab://', 'openmmlab://')):
            name = value.split('://', 1)[1]
            name = ckpt.get_deprecated_model_names().get(name, name)
            table = ckpt.get_external_models()
        elif value.startswith(('torchvision://', 'modelzoo://')):
            name = value.split('://', 1)[1]
            table = ckpt.get_torchvision_models()
        else:  # mmcls://
            name = value.split('://', 1)[1]
            table = ckpt.get_mmcls_models()
    except Exception as err:  # e.g. torchvision not installed
        return None, f'cannot resolve the name: {type(err).__name__}: {err}'
    url = table.get(name)
    if url is None:
        return None, ('unknown model-zoo name (not in mmengine\'s table of '
                      f'{value.split("://", 1)[0]}:// models)')
    if not url.startswith(URL_PREFIXES):
        # open-mmlab:// names may map to a file under the mmengine home;
        # mmengine loads it from disk, nothing is downloaded.
        return None, None
    return url, None


def download_cache_path(value: str) -> Optional[str]:
    """Where mmengine keeps its download of the remote checkpoint path
    ``value`` (whether it is there yet or not); None if ``value`` does not
    resolve to a URL."""
    url, _ = _resolve(value)
    name = osp.basename(urllib.parse.urlparse(url).path) if url else ''
    return osp.join(checkpoint_cache_dir(), name) if name else None


def find_remote_files(cfg: Any, mode: str = 'train') -> List[RemoteFile]:
    """List the remote checkpoint paths a run of ``cfg`` would load.

    Args:
        cfg: an mmengine ``Config`` (or any nested dict / list).
        mode: ``'train'`` (``tools/train.py``: the model is built and
            initialised, then ``load_from`` is loaded) or ``'test'``
            (``tools/test.py``: the model is built and ``load_from`` loaded;
            ``init_weights`` is not called).

    Returns:
        One :class:`RemoteFile` per config key, in config order, resolved to
        its URL and cache path (nothing is fetched).
    """
    found = []
    cache_dir = checkpoint_cache_dir()
    tree = cfg.to_dict() if hasattr(cfg, 'to_dict') else cfg
    for key, value in walk_checkpoint_keys(cfg, mode):
        url, error = _resolve(value)
        if url is None and error is None:
            continue  # a local file behind a model-zoo name
        cache_path = None
        if url is not None:
            name = osp.basename(urllib.parse.urlparse(url).path)
            cache_path = osp.join(cache_dir, name) if name else None
        found.append(RemoteFile(key, value, url, cache_path, error,
                                _hub_config(tree, key)))
    return found


def _parent(tree: Any, key: str) -> Tuple[Any, str]:
    """The dict or list that holds the dotted ``key``, and its last part
    (raises TypeError / KeyError / IndexError / ValueError if ``key``
    cannot be followed)."""
    *parents, last = key.split('.')
    node = tree
    for part in parents:
        node = node[int(part)] if isinstance(node, (list, tuple)) \
            else node[part]
    return node, last


def _hub_config(tree: Any, key: str) -> Optional[str]:
    """The ``cfg_path`` beside ``key`` when ``key`` is a ``pretrained``."""
    node, last = _parent(tree, key)
    cfg_path = node.get('cfg_path') if last == 'pretrained' else None
    return cfg_path if isinstance(cfg_path, str) else None


def _probe(url: str, timeout: float) -> Optional[str]:
    """Return None if ``url`` answers, else the reason it does not."""
    headers = {'User-Agent': 'mmtat-preflight'}
    attempts = [
        urllib.request.Request(url, method='HEAD', headers=headers),
        # some servers refuse HEAD: ask for the first byte instead
        urllib.request.Request(
            url, headers=dict(headers, Range='bytes=0-0')),
    ]
    reason = None
    for request in attempts:
        try:
            with urllib.request.urlopen(request, timeout=timeout):
                return None
        except urllib.error.HTTPError as err:
            reason = f'HTTP {err.code} {err.reason}'
            if err.code not in (403, 405, 501):
                return reason
        except urllib.error.URLError as err:
            return f'cannot connect: {err.reason}'
        except Exception as err:  # timeouts, resets, malformed URLs
            return f'{type(err).__name__}: {err}'
    return reason


def _probe_all(files: List[RemoteFile], timeout: float) -> None:
    """Probe the URLs of ``files`` concurrently; set ``error`` on failure.

    Each probe runs in a daemon thread and the whole check waits at most
    about ``2 * timeout`` (a HEAD and a ranged GET): a name lookup that
    ignores the socket timeout cannot hold the run up, nor its exit.
    """
    results = {}
    urls = sorted({f.url for f in files})

    def run(url: str) -> None:
        results[url] = _probe(url, timeout)

    threads = [
        threading.Thread(target=run, args=(url, ), daemon=True)
        for url in urls
    ]
    for thread in threads:
        thread.start()
    end = time.monotonic() + 2 * timeout + 1
    for thread in threads:
        thread.join(timeout=max(0.0, end - time.monotonic()))
    results = dict(results)  # late answers are ignored from here on
    for f in files:
        if f.url in results:
            f.error = results[f.url]
        else:
            f.error = f'no answer within {timeout:g} s'


def _offline_key(key: str) -> str:
    """The key to set so that ``key``'s file is not loaded.

    ``init_cfg=dict(type='Pretrained', checkpoint=None)`` still makes
    mmengine load a checkpoint (of path None), so for an ``init_cfg``'s
    checkpoint the whole ``init_cfg`` goes.
    """
    if key.endswith('.init_cfg.checkpoint'):
        return key[:-len('.checkpoint')]
    return key


def _offline_settings(cfg: Any, mode: str) -> Dict[str, Any]:
    """``{key: value}`` to set so that a run fetches nothing: None, or
    False for the ``pretrained`` flag of a ``cfg_path`` model.

    Setting one may expose another (without ``teacher_ckpt`` the teacher's
    own ``pretrained`` is used), so this repeats until nothing is left.
    """
    import copy
    cfg = copy.deepcopy(cfg.to_dict() if hasattr(cfg, 'to_dict') else cfg)
    settings: Dict[str, Any] = {}
    while True:
        new = {_offline_key(f.key): False if f.hub_config else None
               for f in find_remote_files(cfg, mode)}
        new = {k: v for k, v in new.items() if k not in settings}
        if not new:
            return settings
        for key, value in new.items():
            try:
                node, last = _parent(cfg, key)
                node[int(last) if isinstance(node, list) else last] = value
            except (TypeError, KeyError, IndexError, ValueError):
                pass  # inside a tuple: listed, but cannot be followed
        settings.update(new)


def _format_error(missing: List[RemoteFile], cache_dir: str,
                  offline: Dict[str, Any]) -> str:
    lines = [
        f'{len(missing)} checkpoint file(s) that this run needs cannot be '
        'fetched (is this machine offline?). Nothing was started.'
    ]
    for f in missing:
        shown = f.value if f.url in (None, f.value) else f'{f.value} ({f.url})'
        lines.append(f'  {f.key} = {shown}')
        lines.append(f'      {f.error}')
        local = osp.basename(urllib.parse.urlparse(f.url).path) \
            if f.url else 'local.pth'
        if f.hub_config:
            # mmengine.hub loads the model-index weights for any true
            # ``pretrained``: the config cannot name another file there
            lines.append(
                f'      (the weights of {f.hub_config}, which mmengine.hub '
                'loads when it builds that network)\n'
                '      Fix: download it where there is network access and '
                f'put it at {f.cache_path}, where it is used without '
                f'downloading,\n      or --cfg-options {f.key}=False to '
                'build that network without them (a teacher then takes its '
                'weights from model.teacher_ckpt)')
            continue
        fix = (f'      Fix: download it where there is network access and '
               f'point the config at the copy:\n'
               f'          --cfg-options {f.key}=/path/to/{local}')
        if f.key.endswith('.pretrained') or f.key.endswith('.checkpoint'):
            fix += (f'\n      (or {_offline_key(f.key)}=None to start that '
                    'network from random weights)')
        lines.append(fix)
        if f.cache_path:
            lines.append('      or put the file at '
                         f'{f.cache_path}, where it is used without '
                         'downloading.')
    settings = ' '.join(f'{key}={value}' for key, value in offline.items())
    lines.append('To run without any of them (a smoke test, not a real '
                 f'training): --cfg-options {settings}')
    lines.append(f'Download cache: {cache_dir}. Set {SKIP_ENV}=1 to skip '
                 'this check.')
    return '\n'.join(lines)


def make_offline(cfg: Any, mode: str = 'train') -> List[str]:
    """Set every remote checkpoint of ``cfg`` to None (a ``cfg_path``
    model's ``pretrained`` to False), in place.

    The run then fetches nothing and starts those networks from random
    weights (what benchmarks and smoke tests want). Args as for
    :func:`find_remote_files`; ``cfg`` is an mmengine ``Config``.

    Returns:
        The keys that were set.
    """
    settings = _offline_settings(cfg, mode)
    if settings:
        cfg.merge_from_dict(settings, allow_list_keys=True)
    return list(settings)


def check_remote_files(cfg: Any,
                       mode: str = 'train',
                       timeout: Optional[float] = None) -> List[RemoteFile]:
    """Make sure every remote checkpoint of ``cfg`` is cached or reachable.

    Args:
        cfg: the config of the run (after ``--cfg-options`` are merged).
        mode: ``'train'`` or ``'test'``, see :func:`find_remote_files`.
        timeout: seconds to wait for each server; defaults to
            ``$MMTAT_REMOTE_CHECK_TIMEOUT`` or 5.

    Returns:
        The remote files found (empty if the check is switched off with
        ``MMTAT_SKIP_REMOTE_CHECK=1``).

    Raises:
        RemoteFileUnavailableError: if any of them is neither in the
            download cache nor reachable, with a message naming each file,
            the reason, and the ``--cfg-options`` to use a local copy.
    """
    if os.environ.get(SKIP_ENV, '').strip() not in ('', '0'):
        return []
    if timeout is None:
        timeout = float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT))
    if not timeout > 0:
        raise ValueError(f'timeout must be positive, got {timeout}')
    files = find_remote_files(cfg, mode)
    broken = [f for f in files if f.cache_problem is not None]
    if broken:
        # mmengine (torch.hub) uses any file it finds in the cache: a broken
        # one would be loaded, and fail, instead of being downloaded again.
        raise RemoteFileUnavailableError(
            'The download cache holds a broken copy of '
            f'{len(broken)} checkpoint(s) this run needs, which would be '
            'loaded instead of downloaded: ' + '; '.join(
                f'{f.key} = {f.value}: {f.cache_path} {f.cache_problem}'
                for f in broken) + '. Nothing was started. Delete the '
            'file(s) so that they are downloaded again, or point the key at '
            'a complete local copy (--cfg-options KEY=/path/to/file.pth).')
    to_probe = [f for f in files if f.url is not None and not f.cached]
    if to_probe:
        _probe_all(to_probe, timeout)
    missing = [f for f in files if f.error is not None]
    if missing:
        raise RemoteFileUnavailableError(
            _format_error(missing, checkpoint_cache_dir(),
                          _offline_settings(cfg, mode)))
    return files
