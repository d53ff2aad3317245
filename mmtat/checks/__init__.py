"""The checks of mmtat's tools: before anything is built (command line,
launcher, checkpoints local and remote, dataset layout), of a config's
whole data (``tools/misc/check_data.py``), of a checkpoint against a model
and of a teacher's weights, and what runs a config on generated data (dry
runs) and collects its results.  The hooks of :mod:`mmtat.engine` apply
the run-time ones."""
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
from .checkpoint_fit import (
                          UNEXPECTED_TOLERANCE,
                          checkpoint_fit_problems,
                          checkpoint_run_name,
                          misfit_parts,
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
from .launcher import LAUNCHERS, check_launcher
from .published import (
                          PublishedResult,
                          published_teacher_miou,
                          published_teacher_result,
)
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
from .teacher_fit import (
                          TeacherWeights,
                          config_teacher_ckpt,
                          teacher_fit_problems,
                          teacher_weight_sources,
)

__all__ = [
    'add_cfg_options_argument', 'apply_cfg_options', 'parse_cfg_options',
    'check_checkpoint_file', 'check_local_checkpoints',
    'checkpoint_file_problem', 'latest_checkpoint', 'UNEXPECTED_TOLERANCE',
    'checkpoint_fit_problems', 'checkpoint_run_name', 'misfit_parts',
    'cpu_distributed_problem', 'end_distributed', 'setup_cpu_distributed',
    'DATASET_LAYOUTS', 'DatasetLayout', 'check_datasets', 'dataset_problems',
    'LAUNCHERS', 'check_launcher', 'PublishedResult',
    'published_teacher_miou', 'published_teacher_result', 'REMOTE_PREFIXES',
    'RemoteFile',
    'RemoteFileUnavailableError', 'check_remote_files',
    'checkpoint_cache_dir', 'download_cache_path', 'find_remote_files',
    'make_offline', 'TeacherWeights', 'config_teacher_ckpt',
    'teacher_fit_problems', 'teacher_weight_sources'
]
