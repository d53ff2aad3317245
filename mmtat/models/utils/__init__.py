# the argument checks live in mmtat.utils (datasets use them too); the
# losses and the distiller import them from here
from ...utils.arguments import as_non_negative, as_pair, as_positive_int
from .feature_probe import ProbeResult, probe_module_outputs, probe_network

__all__ = [
    'probe_module_outputs', 'probe_network', 'ProbeResult', 'as_pair',
    'as_positive_int', 'as_non_negative'
]
