"""Generic helpers, below every other part of mmtat: the errors the tools
report as one paragraph, close-match hints, argument checks, facts about
the machine and the files an installed mmtat ships."""
from .arguments import as_non_negative, as_pair, as_positive_int
from .errors import DataSampleError, InputError, RunRefused, did_you_mean
from .machine import cpu_model, machine_info, usable_cores
from .package_files import (
                          config_file,
                          configs_dir,
                          display_config,
                          mim_dir,
)

__all__ = [
    'as_non_negative', 'as_pair', 'as_positive_int', 'DataSampleError',
    'InputError', 'RunRefused', 'did_you_mean', 'cpu_model', 'machine_info',
    'usable_cores', 'config_file', 'configs_dir', 'display_config', 'mim_dir'
]
