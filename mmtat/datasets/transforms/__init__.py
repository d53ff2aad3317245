from .random_gaussian_blur import RandomGaussianBlur
from .resize_for_scoring import ResizeForScoring

__all__ = ['RandomGaussianBlur', 'ResizeForScoring']
