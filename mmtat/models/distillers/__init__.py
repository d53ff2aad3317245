from .tat_distiller import TaTClsDistiller, TaTDistiller

__all__ = ['TaTDistiller', 'TaTClsDistiller']
