"""mmtat.compat fix 8: the metafiles behind ``mmseg::`` configs are parsed
once per process, with mmengine's results and errors."""
import os.path as osp

import pytest

import mmtat  # noqa: F401  (applies the fix)
from mmtat import compat


def mmseg_path():
    import mmseg
    return osp.dirname(mmseg.__file__)


def test_lookups_equal_mmengine_and_parse_the_metafiles_once(monkeypatch):
    import mmengine.config.utils as config_utils
    import mmengine.fileio
    cached = config_utils._get_cfg_metainfo
    assert cached.__mmtat_patched__
    original = cached.__wrapped__
    package = mmseg_path()
    # table keys as mmengine builds them (mmengine's own lookups strip
    # '.py' and so miss, then fall back to the file path; same here)
    names = ['deeplabv3/deeplabv3_r101-d8_4xb4-40k_voc12aug-512x512.py',
             'segformer/segformer_mit-b5_8xb2-160k_ade20k-512x512.py']
    for name in names:
        assert cached(package, name) == original(package, name)
    loads = []
    load = mmengine.fileio.load
    monkeypatch.setattr(mmengine.fileio, 'load',
                        lambda *a, **k: loads.append(a) or load(*a, **k))
    compat._METAFILE_TABLES.clear()
    for name in names * 3:
        cached(package, name)
    index_and_metafiles = len(loads)
    index = load(osp.join(package, '.mim', 'model-index.yml'))
    assert index_and_metafiles == 1 + len(index['Import'])  # read once
    cached(package, names[0])
    assert len(loads) == index_and_metafiles  # no re-reading
    for cfg in ('no_such_config', names[0][:-3]):
        with pytest.raises(ValueError, match=f'but got {cfg}$'):
            cached(package, cfg)
        with pytest.raises(ValueError, match=f'but got {cfg}$'):
            original(package, cfg)


def test_a_changed_model_index_is_read_again(tmp_path):
    mim = tmp_path / '.mim'
    mim.mkdir()
    (mim / 'metafile.yml').write_text(
        'Models:\n- Name: a\n  Config: configs/x/a.py\n')
    (mim / 'model-index.yml').write_text('Import:\n- metafile.yml\n')
    table = compat._metafile_table(str(tmp_path))
    assert set(table) == {'x/a.py'}
    (mim / 'metafile.yml').write_text(
        'Models:\n- Name: b\n  Config: configs/x/b.py\n')
    # the index's time stamp is what marks a change
    (mim / 'model-index.yml').write_text('Import:\n- metafile.yml\n\n')
    import os
    stat = os.stat(mim / 'model-index.yml')
    os.utime(mim / 'model-index.yml',
             ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert set(compat._metafile_table(str(tmp_path))) == {'x/b.py'}
