from .tat_geometry import TaTGeometry
from .tat_loss import TaTLoss

__all__ = ['TaTLoss', 'TaTGeometry']
