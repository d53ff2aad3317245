""".dev_scripts/attention_memory.py: the attention memory of the release's
form for TaT configs, computed from the configs' own maps and geometry."""
import json
import os.path as osp

import pytest
from dev_scripts import load_script

import mmtat  # noqa: F401

main = load_script('attention_memory').main

DEFAULT = 'configs/tat/deeplabv3_r101_r18_voc.py'
GLOBAL = 'configs/tat/deeplabv3_r101_r18_voc_global.py'
MIB = 1 << 20


def _report(out):
    with open(osp.join(out, 'attention_memory.json')) as f:
        return json.load(f)


def test_release_memory_of_the_default_and_the_global_form(tmp_path):
    main([DEFAULT, GLOBAL, '--out', str(tmp_path)])
    report = _report(tmp_path)
    assert report['computed'] is True
    default, global_ = report['results']
    for row in (default, global_):
        assert row['computed'] is True
        assert row['crop'] == [512, 512] and row['batch_size'] == 16
        assert row['map_size'] == [64, 64]  # the bottleneck at stride 8
        assert (row['student_channels'], row['teacher_channels']) == (128,
                                                                      512)
    # 8x8 patches in 16 heads of 4 patches, 16x16 anchors: 64 and 256
    # positions; 16 * 64^2 and 256^2 float32 values per image
    assert [(b['branch'], b['heads'], b['positions'])
            for b in default['branches']] == [('patch-group', 16, 64),
                                              ('anchor', 1, 256)]
    assert default['release_bytes_per_image'] == (16 * 64**2 + 256**2) * 4
    assert default['release_held_bytes'] == 16 * 512 * 1024
    assert default['mmtat_materialises'] is True
    # one head over all 4096 positions: 64 MiB per image, 1 GiB for 16
    assert [(b['heads'], b['positions'])
            for b in global_['branches']] == [(1, 4096)]
    assert global_['release_bytes_per_image'] == 64 * MIB
    assert global_['release_held_bytes'] == 1024 * MIB
    assert global_['mmtat_materialises'] is False
    with open(tmp_path / 'attention_memory.md') as f:
        table = f.read()
    assert 'computed, not measured' in table
    assert '| 64.00 MiB | 1.00 GiB | no (chunked) |' in table


def test_batch_and_crop_options(tmp_path):
    main([GLOBAL, '--batch-size', '2', '--crop', '256', '256', '--out',
          str(tmp_path)])
    (row, ) = _report(tmp_path)['results']
    # a 32x32 map: 1024 positions, under the chunking threshold
    assert row['map_size'] == [32, 32] and row['batch_size'] == 2
    assert row['release_held_bytes'] == 2 * 1024**2 * 4
    assert row['mmtat_materialises'] is True


def test_a_config_without_tat_is_refused(tmp_path):
    with pytest.raises(SystemExit) as err:
        main(['configs/baselines/kd_deeplabv3_r101_r18_voc.py', '--out',
              str(tmp_path)])
    assert str(err.value).startswith(
        'ERROR: configs/baselines/kd_deeplabv3_r101_r18_voc.py: the config '
        'has no TaTDistiller (model.distiller.type is '
        "'ConfigurableDistiller')")
    assert not (tmp_path / 'attention_memory.json').exists()
