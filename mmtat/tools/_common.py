"""What every mmtat tool does the same way: read the config, and report a
wrong input as one paragraph and a non-zero exit status, not a traceback.

A tool of mmtat (also a new one) follows this structure::

    def main(argv=None):
        args = parse_args(argv)                # add_cfg_options_argument()
        with reported_errors():
            cfg = load_config(args.config)     # and the config caches
            apply_cfg_options(cfg, args.cfg_options)
            ...                                # pre-flight checks
            runner = Runner.from_cfg(cfg)      # only after all checks
            add_hook(runner, SomeHook(...))    # unless the config lists one
"""
import contextlib
import json
import logging
import os
import os.path as osp
import shutil
from typing import Any, Iterator, Optional

from mmengine.logging import print_log

from mmtat.checks.remote_files import RemoteFileUnavailableError
from mmtat.utils.errors import InputError

__all__ = [
    'reported_errors', 'load_config', 'set_work_dir', 'set_amp',
    'add_hook', 'remove_refused_run', 'write_report'
]


@contextlib.contextmanager
def reported_errors() -> Iterator[None]:
    """Turn the errors of a wrong input into ``SystemExit('ERROR: ...')``:
    the message on stderr, exit status 1, no traceback."""
    try:
        yield
    except (InputError, RemoteFileUnavailableError) as err:
        raise SystemExit(f'ERROR: {err}') from None


def load_config(path: str) -> Any:
    """``Config.fromfile`` with a clear error for a file that is not there
    (or a misspelt ``mmtat::`` base inside it), with mmtat's config caches
    enabled for the rest of the process
    (``mmtat.compat.enable_config_caches()``, the explicit option every
    tool takes)."""
    from mmengine.config import Config

    from mmtat.compat import enable_config_caches
    enable_config_caches()
    if not osp.isfile(path):
        hint = ''
        if path.startswith('mmtat::'):
            hint = (' A shipped config is a file path: python -c "from '
                    'mmtat.utils import config_file; print(config_file('
                    f'\'{path}\'))" prints it.')
        raise InputError(f'the config file {path} does not exist.{hint}')
    try:
        return Config.fromfile(path)
    except FileNotFoundError as err:
        # a base (_base_) of the config is missing; mmtat:: bases say which
        raise InputError(f'{path}: {err}') from None


def set_work_dir(cfg: Any, work_dir: Optional[str], config: str) -> None:
    """``cfg.work_dir``: the command line's, else the config's, else
    ``./work_dirs/<config name>`` (MMSegmentation's rule)."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config))[0])


def set_amp(cfg: Any) -> None:
    """What ``--amp`` does: mmengine's ``AmpOptimWrapper`` (float16
    autocast of the forward passes, dynamic loss scaling) in place of the
    config's ``OptimWrapper``."""
    optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if optim_wrapper == 'AmpOptimWrapper':
        print_log(
            'AMP training is already enabled in your config.',
            logger='current',
            level=logging.WARNING)
        return
    if optim_wrapper != 'OptimWrapper':
        raise InputError(
            f'--amp needs optim_wrapper.type OptimWrapper (it becomes '
            f'AmpOptimWrapper), but the config has {optim_wrapper}. Set '
            'mixed precision in that wrapper\'s own options instead.')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.loss_scale = 'dynamic'


def add_hook(runner: Any, hook: Any) -> Any:
    """Register ``hook`` unless the runner has a hook of its type already
    (from the config's ``custom_hooks``, as the shipped configs list them),
    and return the one the run uses.

    A run gets one hook of each kind.  The config's hook takes the tool's
    values of the arguments it leaves open (None or False, e.g. the
    checkpoint's name, ``--allow-partial-*``); what the config sets stays.
    """
    registered = next(
        (h for h in runner.hooks if isinstance(h, type(hook))), None)
    if registered is None:
        runner.register_hook(hook)
        return hook
    for key, value in vars(hook).items():
        if key.startswith('_') or value is None or value is False:
            continue
        if getattr(registered, key, None) in (None, False):
            setattr(registered, key, value)
    return registered


def remove_refused_run(runner: Any, work_dir_existed: bool) -> None:
    """Remove what mmengine wrote for a run that a check refused after the
    runner was built: the whole work dir if this run created it (its log
    folder and config dump only), else this run's log folder."""
    work_dir = getattr(runner, 'work_dir', None)
    if not work_dir_existed and work_dir and osp.isdir(work_dir):
        shutil.rmtree(work_dir, ignore_errors=True)
        return
    log_dir: Optional[str] = getattr(runner, 'log_dir', None)
    if log_dir and osp.isdir(log_dir):
        shutil.rmtree(log_dir, ignore_errors=True)


def write_report(out_dir: str, name: str, data: Any, text: str) -> None:
    """Write a tool's report as ``<name>.json`` (``data``, the raw output)
    and ``<name>.md`` (``text``, its table) into ``out_dir``, created if
    needed."""
    os.makedirs(out_dir, exist_ok=True)
    with open(osp.join(out_dir, f'{name}.json'), 'w') as f:
        json.dump(data, f, indent=2)
    with open(osp.join(out_dir, f'{name}.md'), 'w') as f:
        f.write(text)
