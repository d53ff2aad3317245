from .tat_loss import TaTLoss

__all__ = ['TaTLoss']
