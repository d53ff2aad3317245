from .tat_distiller import TaTDistiller

__all__ = ['TaTDistiller']
