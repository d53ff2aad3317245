"""Helpers of mmtat's tools (pre-flight checks, CPU distributed runs)."""
from .cpu_dist import setup_cpu_distributed
from .machine import cpu_model, usable_cores
from .remote_files import (
                           REMOTE_PREFIXES,
                           RemoteFile,
                           RemoteFileUnavailableError,
                           check_remote_files,
                           checkpoint_cache_dir,
                           find_remote_files,
                           make_offline,
)

__all__ = [
    'REMOTE_PREFIXES', 'RemoteFile', 'RemoteFileUnavailableError',
    'check_remote_files', 'checkpoint_cache_dir', 'find_remote_files',
    'make_offline',
    'setup_cpu_distributed', 'cpu_model', 'usable_cores'
]
