"""Helpers of mmtat's tools (pre-flight checks, CPU distributed runs) and
the argument checks of its modules."""
from .arguments import as_non_negative, as_pair, as_positive_int
from .cfg_options import (
                          add_cfg_options_argument,
                          apply_cfg_options,
                          parse_cfg_options,
)
from .checkpoint_files import (
                          check_checkpoint_file,
                          check_local_checkpoints,
                          checkpoint_file_problem,
                          latest_checkpoint,
)
from .cpu_dist import (
                          cpu_distributed_problem,
                          end_distributed,
                          setup_cpu_distributed,
)
from .dataset_check import (
                          DATASET_LAYOUTS,
                          DatasetLayout,
                          check_datasets,
                          dataset_problems,
)
from .errors import DataSampleError, InputError, RunRefused
from .launcher import LAUNCHERS, check_launcher
from .machine import cpu_model, machine_info, usable_cores
from .package_files import (
                          config_file,
                          configs_dir,
                          display_config,
                          mim_dir,
)
from .published import PublishedResult, published_teacher_miou
from .remote_files import (
                          REMOTE_PREFIXES,
                          RemoteFile,
                          RemoteFileUnavailableError,
                          check_remote_files,
                          checkpoint_cache_dir,
                          download_cache_path,
                          find_remote_files,
                          make_offline,
)

__all__ = [
    'REMOTE_PREFIXES', 'RemoteFile', 'RemoteFileUnavailableError',
    'check_remote_files', 'checkpoint_cache_dir', 'download_cache_path',
    'find_remote_files',
    'make_offline', 'setup_cpu_distributed', 'cpu_distributed_problem',
    'end_distributed',
    'LAUNCHERS', 'check_launcher', 'RunRefused', 'DataSampleError',
    'cpu_model', 'machine_info',
    'usable_cores',
    'config_file', 'configs_dir', 'display_config', 'mim_dir', 'InputError',
    'add_cfg_options_argument', 'apply_cfg_options', 'parse_cfg_options',
    'check_checkpoint_file', 'check_local_checkpoints',
    'checkpoint_file_problem', 'latest_checkpoint', 'DATASET_LAYOUTS',
    'DatasetLayout', 'check_datasets', 'dataset_problems',
    'PublishedResult', 'published_teacher_miou', 'as_non_negative',
    'as_pair', 'as_positive_int'
]
