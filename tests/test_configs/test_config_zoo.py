"""The config zoo: every shipped config is listed in a metafile, the
metafiles agree with the configs, and every config added after the first
VOC / COCO-Stuff10k pair trains two iterations (and validates) offline on
generated data of its dataset's layout.  (The first pair's configs are run
through tools/train.py in tests/test_tools and their losses checked in
test_baseline_configs.py.)"""
import copy
import glob
import json
import os.path as osp

import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.hub import get_config
from mmseg_metafiles import mmseg_release

import mmtat  # noqa: F401
from mmtat.utils.dry_run import (
    dry_run_crop,
    make_dry_run_dataset,
    shrink_for_dry_run,
)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
METAFILES = ('configs/tat/metafile.yml', 'configs/baselines/metafile.yml')
#: tables run here; the first pair's ('voc', 'cocostuff10k') run through
#: tools/train.py in tests/test_tools, the TaT variants ('voc_variants')
#: train in tests/test_models/test_distillers, and 'camvid' trains through
#: tools/reproduce.py --dry-run (tests/test_tools/test_reproduce.py)
#: The release-recipe tables: voc_release trains through
#: tools/reproduce.py --dry-run (tests/test_tools), cocostuff10k_release_val513
#: here (the same training as cocostuff10k_release, validated the release's
#: way, at 513x513).
DRY_RUN_TABLES = ('voc_deeplabv3plus', 'cocostuff10k_deeplabv3plus',
                  'cityscapes', 'cityscapes_segformer',
                  'cocostuff10k_release_val513')


def crop_height(path: str) -> int:
    """The smallest dry-run crop height for a config: TaT's 8x8 patches
    in groups of 4 need a 16-row map, i.e. 128 rows at output stride 8;
    everything else runs at 64."""
    return 128 if path.startswith('configs/tat/deeplabv3_r101_') else 64


def models():
    found = []
    for path in METAFILES:
        with open(osp.join(REPO, path)) as f:
            found += yaml.safe_load(f)['Models']
    return found


def configs_on_disk():
    return sorted(
        osp.relpath(p, REPO)
        for p in glob.glob(osp.join(REPO, 'configs', '*', '*.py'))
        if osp.basename(osp.dirname(p)) != '_base_')


def test_every_config_is_listed_once_and_exists():
    listed = [m['Config'] for m in models()]
    assert sorted(listed) == configs_on_disk()
    names = [m['Name'] for m in models()]
    assert len(set(names)) == len(names)
    for model in models():
        assert model['Metadata']['Table'], model['Name']
        for result in model['Results']:
            # nothing measured by mmtat yet: no number without a run
            assert result['Metrics'] == {'mIoU': None}, model['Name']


def _network(model: dict) -> dict:
    model = copy.deepcopy(model)
    for key in ('_scope_', 'data_preprocessor', 'pretrained'):
        model.pop(key, None)
    model.get('backbone', {}).pop('init_cfg', None)
    return model


@pytest.mark.parametrize(
    'entry', [m for m in models() if 'Teacher' in m['Metadata']],
    ids=lambda m: m['Name'])
def test_metafile_teacher_and_student_are_the_configs(entry):
    """The teacher named in the metafile is the one the config loads (with
    MMSegmentation's released weights and mIoU where it has one), and the
    student config is the config's student network."""
    cfg = Config.fromfile(osp.join(REPO, entry['Config']))
    teacher, student = entry['Metadata']['Teacher'], entry['Metadata'][
        'Student']
    assert cfg.model.teacher_ckpt == teacher['Weights']
    if teacher['Config'].startswith('mmseg::'):
        release = mmseg_release(teacher['Config'])
        assert teacher['Metrics']['mIoU'] == release['Results']['Metrics'][
            'mIoU']
        assert teacher['Weights'] == release['Weights']
        released = get_config(teacher['Config']).model.to_dict()
    else:  # a teacher trained here first
        assert teacher['Metrics']['mIoU'] is None
        released = Config.fromfile(osp.join(
            REPO, teacher['Config'])).model.to_dict()
    teacher_net = _network(cfg.model.teacher.to_dict())
    released = _network(released)
    # the teacher is validated as MMSegmentation tests it
    assert teacher_net == released
    student_cfg = Config.fromfile(osp.join(REPO, student['Config']))
    assert _network(cfg.model.architecture.to_dict()) == _network(
        student_cfg.model.to_dict())


def _tables():
    tables = {}
    for model in models():
        for table in model['Metadata']['Table']:
            tables.setdefault(table, []).append(model['Config'])
    return tables


def _scalars(work_dir: str):
    rows = []
    for path in glob.glob(osp.join(work_dir, '*', 'vis_data',
                                   'scalars.json')):
        with open(path) as f:
            rows += [json.loads(line) for line in f if line.strip()]
    return rows


@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp('zoo_data'))


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize('table', DRY_RUN_TABLES)
def test_configs_train_two_iterations_on_generated_data(
        table, data_dir, tmp_path, one_thread):
    from mmengine.runner import Runner
    configs = sorted(set(_tables()[table]))
    assert configs
    for index, path in enumerate(configs):
        cfg = Config.fromfile(osp.join(REPO, path))
        data_root = make_dry_run_dataset(cfg, data_dir, num_val=1)
        work_dir = str(tmp_path / f'run{index}')
        cfg = shrink_for_dry_run(
            cfg, data_root=data_root, work_dir=work_dir,
            crop=dry_run_crop(cfg, crop_height(path)), checkpoint=False,
            name=f'zoo_{table}_{index}')
        runner = Runner.from_cfg(cfg)
        runner.train()
        rows = _scalars(work_dir)
        train = [r for r in rows if 'loss' in r]
        assert [r['iter'] for r in train] == [1, 2], path
        assert all(torch.isfinite(torch.tensor(r['loss'])) for r in train)
        distill = [k for k in train[0] if k.startswith('distill.')]
        val = [r for r in rows if 'mIoU' in r]
        assert len(val) == 1, path
        if 'distiller' in cfg.model:
            assert distill and all(r[k] > 0 for r in train for k in distill)
            assert 'teacher.mIoU' in val[0], path
        else:
            assert not distill
        assert not glob.glob(osp.join(work_dir, '*.pth'))
