from .feature_probe import probe_module_outputs

__all__ = ['probe_module_outputs']
