"""mmengine's SyncBN -> BN replacement keeps the replaced layers' hooks.

Affects: mmengine 0.10.x (no upstream report found).  A non-distributed
``Runner`` replaces every SyncBN module by a new ``_BatchNormXd`` object
(``revert_sync_batchnorm``) after the model is built, i.e. after MMRazor's
recorders hooked their modules; a recorder on a norm layer then records
nothing and the first iteration fails with MMRazor's "record_idx is
illegal".  The Runner's (and ``mmengine.model``'s) ``revert_sync_batchnorm``
is replaced by :func:`revert_sync_batchnorm_keeping_hooks`, which hands
each replaced layer's hook tables (forward, forward-pre, backward) to its
replacement, so hooks and their handles keep working.  Process-wide because
the Runner calls it by name; every mmtat module that swaps SyncBN for BN
calls this function.
"""
from typing import Any

import torch

__all__ = [
    'revert_sync_batchnorm_keeping_hooks', 'keep_hooks_on_sync_bn_revert'
]

_HOOK_TABLES = ('_forward_hooks', '_forward_hooks_with_kwargs',
                '_forward_hooks_always_called', '_forward_pre_hooks',
                '_forward_pre_hooks_with_kwargs', '_backward_hooks',
                '_backward_pre_hooks')


def revert_sync_batchnorm_keeping_hooks(module: torch.nn.Module) -> Any:
    """mmengine's ``revert_sync_batchnorm``, whose replacement layers keep
    the replaced layers' hooks."""
    from mmengine.model.utils import revert_sync_batchnorm
    before = dict(module.named_modules())
    reverted = revert_sync_batchnorm(module)
    for name, new in reverted.named_modules():
        old = before.get(name)
        if old is None or old is new:
            continue
        for table in _HOOK_TABLES:
            hooks = getattr(old, table, None)
            if hooks:
                # the same dict object: handles made on the old layer
                # still remove their hook
                setattr(new, table, hooks)
    return reverted


def keep_hooks_on_sync_bn_revert() -> None:
    """Make the Runner (and ``mmengine.model``) use
    :func:`revert_sync_batchnorm_keeping_hooks`."""
    import mmengine.model
    import mmengine.runner.runner as runner_module
    for owner in (runner_module, mmengine.model):
        owner.revert_sync_batchnorm = revert_sync_batchnorm_keeping_hooks
