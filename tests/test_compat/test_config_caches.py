"""The config caches (``mmtat.compat.config_caches``): an explicit option,
which ``import mmtat`` does not apply and mmtat's tools and this test suite
do."""
import os.path as osp
import subprocess
import sys

import pytest

from mmtat.compat import enable_config_caches


def test_import_mmtat_leaves_mmengine_config_parsing_alone():
    result = subprocess.run(
        [sys.executable, '-c',
         'import mmtat\n'
         'import mmengine.config.config as config_module\n'
         'import mmengine.config.utils as config_utils\n'
         "print(getattr(config_module.FormatCode, '__mmtat_memoised__', "
         'False), config_utils._get_cfg_metainfo.__module__)\n'],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ['False', 'mmengine.config.utils']


@pytest.fixture(autouse=True)
def caches():
    enable_config_caches()


def test_config_text_is_formatted_once_per_content():
    """mmengine's pretty_text runs yapf on every call
    (four times per Runner start); the same text is formatted once, a
    changed one anew, and the text is yapf's own."""
    import mmengine.config.config as config_module
    from mmengine.config import Config

    from mmtat.compat import memoised_format_code

    calls = []

    def format_code(source, style_config=None):
        calls.append(source)
        return source.upper(), True

    memoised = memoised_format_code(format_code)
    assert memoised_format_code(memoised) is memoised
    assert memoised('a = 1', style_config=dict(x=1)) == ('A = 1', True)
    assert memoised('a = 1', style_config=dict(x=1)) == ('A = 1', True)
    assert memoised('a = 1', style_config=dict(x=2)) == ('A = 1', True)
    assert len(calls) == 2  # another style is another result
    for i in range(8):  # only the last few results are kept
        memoised(f'b = {i}')
    memoised('a = 1', style_config=dict(x=1))
    assert len(calls) == 11

    installed = config_module.FormatCode
    assert getattr(installed, '__mmtat_memoised__', False)
    cfg = Config(dict(model=dict(type='X', layers=[1, 2, 3]), lr=0.1))
    text = cfg.pretty_text
    config_module.FormatCode = installed.__wrapped__
    try:
        assert Config(cfg.to_dict()).pretty_text == text
    finally:
        config_module.FormatCode = installed
    cfg.lr = 0.2
    assert 'lr = 0.2' in cfg.pretty_text


def test_mmseg_metafiles_are_read_once_per_process(monkeypatch):
    """Resolving an ``mmseg::`` base read every
    metafile of MMSegmentation each time; the index is built once and
    answers as mmengine's own lookup does."""
    import mmengine.config.utils as config_utils
    import mmengine.fileio
    import mmseg
    from mmengine.config import Config

    from mmtat.compat import config_caches as compat

    assert config_utils._get_cfg_metainfo is compat.cached_cfg_metainfo
    original = compat.cached_cfg_metainfo.__wrapped__
    package = osp.dirname(mmseg.__file__)
    name = 'deeplabv3/deeplabv3_r101-d8_4xb4-40k_voc12aug-512x512.py'
    entry = compat.cached_cfg_metainfo(package, name)
    assert entry == original(package, name)
    assert entry['Weights'].startswith('https://')
    entry['Weights'] = 'changed'  # a copy: the index keeps its own
    assert compat.cached_cfg_metainfo(package, name)['Weights'] != 'changed'
    for lookup in (original, compat.cached_cfg_metainfo):
        with pytest.raises(ValueError, match='but got _base_/default_runt'):
            lookup(package, '_base_/default_runtime')

    monkeypatch.setattr(compat, '_metafile_indexes', {})
    reads = []
    load = mmengine.fileio.load

    def counted(path, *args, **kwargs):
        reads.append(path)
        return load(path, *args, **kwargs)

    monkeypatch.setattr(mmengine.fileio, 'load', counted)
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    for config in ('configs/tat/deeplabv3_r101_r18_voc.py',
                   'configs/baselines/kd_deeplabv3_r101_r18_voc.py'):
        cfg = Config.fromfile(osp.join(repo, config))
        assert cfg.model.teacher.backbone.depth == 101
    metafiles = [p for p in reads if p.endswith(('.yml', '.yaml'))]
    assert metafiles and len(metafiles) == len(set(metafiles))
