from .tat_cls_distiller import TaTClsDistiller
from .tat_distiller import TaTDistiller

__all__ = ['TaTDistiller', 'TaTClsDistiller']
