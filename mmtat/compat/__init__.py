"""What mmtat changes in the running interpreter so that the OpenMMLab stack
(mmengine 0.10.7, mmcv 2.1.0, MMSegmentation 1.2.2, MMRazor 1.0.0,
MMPretrain 1.2.0) runs on current torch.

One module per fix, each with its reason, the versions it was seen with and
the upstream report (or the fact that none exists).  No installed file is
edited: the fixes act on the running interpreter only.  ``import mmtat``
calls :func:`apply`, which must run before the first ``import mmrazor``
(mmtat's tools and ``custom_imports=dict(imports=['mmtat'])`` do that).

Applied by ``import mmtat``, each for a failure a user meets without it:

* :mod:`.mmrazor_quantization`: ``import mmrazor.models`` fails on torch
  >= 2.1.
* :mod:`.checkpoint_globals`: ``--resume`` / ``load_from`` / a teacher
  checkpoint fail under torch's weights-only ``torch.load``.
* :mod:`.recorded_tensors`: a distillation loss silently reads a recorded
  map that an in-place activation changed; now an error.
* :mod:`.sync_bn_hooks`: a recorder on a norm layer fails with "record_idx
  is illegal" after the Runner swaps SyncBN for BN.
* the start-up fixes of ``_mmtat_startup`` (mmengine without
  ``pkg_resources``, ``mmtat::`` and ``mmcls::`` configs), which the
  ``mmtat-startup.pth`` hook already applies at interpreter start.

Not here: the guard against torch's wrong CPU BatchNorm backward for one
image, which sits with the kernels it protects
(:mod:`mmtat.models.ops.contiguous_grad`).

An explicit option, not applied on import: :mod:`.config_caches`
(``enable_config_caches()``: faster ``Config.fromfile`` and Runner start;
mmtat's tools call it).
"""
import _mmtat_startup
from _mmtat_startup import (
    PackageInstallRefused,
    current_config_path,
    missing_config_message,
    shipped_configs,
)

from .checkpoint_globals import (
    MMENGINE_SAFE_GLOBALS,
    mmengine_checkpoint_globals,
    scope_mmengine_checkpoint_loading,
)
from .config_caches import (
    cached_cfg_metainfo,
    enable_config_caches,
    memoised_format_code,
)
from .mmrazor_quantization import (
    MMRazorQuantizationUnavailable,
    install_quantization_stand_in,
)
from .recorded_tensors import (
    RecordChangedInPlace,
    changed_record_versions,
    guard_mmrazor_recorders,
    tensor_versions,
)
from .sync_bn_hooks import (
    keep_hooks_on_sync_bn_revert,
    revert_sync_batchnorm_keeping_hooks,
)

__all__ = [
    'apply', 'MMRazorQuantizationUnavailable', 'MMENGINE_SAFE_GLOBALS',
    'mmengine_checkpoint_globals', 'RecordChangedInPlace',
    'changed_record_versions', 'tensor_versions',
    'revert_sync_batchnorm_keeping_hooks', 'enable_config_caches',
    'memoised_format_code', 'cached_cfg_metainfo', 'missing_config_message',
    'shipped_configs', 'current_config_path', 'PackageInstallRefused'
]

_APPLIED = {'done': False}


def apply() -> None:
    """Apply the fixes listed in the module doc (once per process)."""
    if _APPLIED['done']:
        return
    install_quantization_stand_in()
    scope_mmengine_checkpoint_loading()
    guard_mmrazor_recorders()
    keep_hooks_on_sync_bn_revert()
    # normally already active through mmtat-startup.pth
    _mmtat_startup.install()
    _APPLIED['done'] = True
