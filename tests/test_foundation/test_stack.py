"""The installed stack: compiled mmcv ops, MMRazor registries after
``import mmtat`` and the stand-in for MMRazor quantization."""
import subprocess
import sys

import pytest
import torch


def test_mmcv_compiled_ops_load_and_run():
    import mmcv
    from mmcv.ops import nms, point_sample
    from mmcv.utils import ext_loader

    assert mmcv.__version__ == '2.1.0'
    # nms is implemented only in the compiled extension: this fails on
    # mmcv-lite or on a build without ops.
    ext_loader.load_ext('_ext', ['nms'])
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.],
                          [20., 20., 30., 30.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    _, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]

    feats = torch.arange(16.).view(1, 1, 4, 4)
    # the centre of pixel (row 1, col 2) in [0, 1] coordinates
    points = torch.tensor([[[2.5 / 4, 1.5 / 4]]])
    sampled = point_sample(feats, points, align_corners=False)
    assert sampled.shape == (1, 1, 1)
    assert sampled.item() == pytest.approx(feats[0, 0, 1, 2].item())


def _run(code: str) -> subprocess.CompletedProcess:
    # A fresh interpreter: what matters is the import order of a new process.
    return subprocess.run([sys.executable, '-c', code],
                          capture_output=True,
                          text=True,
                          timeout=300)


def test_import_mmtat_registers_mmrazor_distillation():
    result = _run(
        'import mmtat\n'
        'import mmrazor.models\n'
        'from mmrazor.registry import MODELS, TASK_UTILS\n'
        "for name in ('SingleTeacherDistill', 'ConfigurableDistiller',\n"
        "             'KLDivergence', 'ChannelWiseDivergence', 'TaTLoss'):\n"
        '    assert MODELS.get(name) is not None, name\n'
        "assert TASK_UTILS.get('ModuleOutputsRecorder') is not None\n"
        "assert MODELS.get('TaTLoss').__module__ == "
        "'mmtat.models.losses.tat_loss'\n"
        "print('registered')\n")
    assert result.returncode == 0, result.stderr
    assert 'registered' in result.stdout


def test_mmrazor_models_needs_mmtat_on_this_torch():
    """Documents why the stand-in exists: without mmtat imported first,
    ``import mmrazor.models`` fails on this torch (if it stops failing, the
    stand-in may be dropped)."""
    result = _run('import mmrazor.models')
    assert result.returncode != 0
    assert 'quantization' in result.stderr


def test_custom_imports_in_config_applies_compat():
    """The config route: mmengine imports mmtat through custom_imports."""
    result = _run(
        'from mmengine.config import Config\n'
        "cfg = Config(dict(custom_imports=dict(imports=['mmtat'], "
        'allow_failed_imports=False)))\n'
        'from mmengine.utils import import_modules_from_strings\n'
        'import_modules_from_strings(**cfg.custom_imports)\n'
        'import mmrazor.models\n'
        "print('ok')\n")
    assert result.returncode == 0, result.stderr


def test_mmrazor_quantization_gives_clear_error():
    from mmengine.registry import DefaultScope
    from mmrazor.registry import MODELS

    import mmtat  # noqa: F401
    from mmtat.compat import MMRazorQuantizationUnavailable

    qconfig = dict(
        w_observer=dict(type='mmrazor.PerChannelMinMaxObserver'),
        a_observer=dict(type='mmrazor.MovingAverageMinMaxObserver'),
        w_fake_quant=dict(type='mmrazor.FakeQuantize'),
        a_fake_quant=dict(type='mmrazor.FakeQuantize'),
        w_qscheme=dict(qdtype='qint8', bit=8, is_symmetry=True),
        a_qscheme=dict(qdtype='quint8', bit=8, is_symmetry=True))
    # other tests' runners leave their default scope behind
    with DefaultScope.overwrite_default_scope('mmrazor'), pytest.raises(
            MMRazorQuantizationUnavailable,
            match='MMRazor quantization is not available'):
        MODELS.build(dict(type='TorchNativeQuantizer',
                          global_qconfig=qconfig))

    from mmrazor.structures.quantization import BackendConfigs
    with pytest.raises(MMRazorQuantizationUnavailable,
                       match=r'torch\.ao internals'):
        BackendConfigs['native']


def test_mmseg_base_configs_resolve_without_pkg_resources(tmp_path):
    """``mmseg::`` base configs resolve whether or not setuptools still
    ships pkg_resources (it does not since setuptools 81)."""
    config = tmp_path / 'child.py'
    config.write_text("_base_ = 'mmseg::deeplabv3/"
                      "deeplabv3_r101-d8_4xb4-40k_voc12aug-512x512.py'\n")
    result = _run(
        'import os.path as osp\n'
        'import mmtat\n'
        'from mmengine.config import Config\n'
        'from mmengine.utils import get_installed_path, is_installed\n'
        "assert is_installed('mmsegmentation')\n"
        "assert not is_installed('surely_not_a_package_xyz')\n"
        "path = get_installed_path('mmsegmentation')\n"
        "assert osp.basename(path) == 'mmseg', path\n"
        f"cfg = Config.fromfile({str(config)!r})\n"
        'assert cfg.model.backbone.depth == 101\n'
        "print('resolved')\n")
    assert result.returncode == 0, result.stderr
    assert 'resolved' in result.stdout
