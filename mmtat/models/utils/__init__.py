from .arguments import as_non_negative, as_pair, as_positive_int
from .feature_probe import probe_module_outputs

__all__ = [
    'probe_module_outputs', 'as_pair', 'as_positive_int', 'as_non_negative'
]
