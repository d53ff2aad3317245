from .module_feature_recorder import ModuleFeatureRecorder, final_activation

__all__ = ['ModuleFeatureRecorder', 'final_activation']
