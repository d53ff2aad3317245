from .tat_geometry import TaTGeometry
from .tat_loss import TaTLoss
from .tat_policy import TaTExecutionPolicy

__all__ = ['TaTLoss', 'TaTGeometry', 'TaTExecutionPolicy']
