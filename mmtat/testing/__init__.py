"""What mmtat's tests and its checking tools hold mmtat against.

Shipped with the package (not under ``tests/``) because the tools
``python -m mmtat.tools.gpu_check`` and ``python -m
mmtat.tools.benchmark_tat_loss`` need it on a machine that has only the
installed package; ``import mmtat`` does not import it.
"""
from .release_reference import (
    ReferenceEmbeddings,
    functional_embeddings,
    release_arguments,
    release_tat_loss,
)

__all__ = [
    'release_tat_loss', 'release_arguments', 'functional_embeddings',
    'ReferenceEmbeddings'
]
