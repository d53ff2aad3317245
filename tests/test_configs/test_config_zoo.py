"""The config zoo: every shipped config is listed in a metafile, the
metafiles agree with the configs, and every results table has one full
two-iteration training run (data pipeline in its dataset's generated layout,
hooks, validation of student and teacher) offline: the runs of this file
(RUNNER_RUNS), or of the tests named in RUNNER_RUNS_ELSEWHERE.  Every
config's own training step: test_config_steps.py."""
import copy
import glob
import json
import os.path as osp
import re

import pytest
import torch
import yaml
from classification_configs import METRICS, TASK, mmpretrain_release
from dry_run_sizes import crop_height
from mmengine.hub import get_config
from mmseg_metafiles import mmseg_release
from parsed_configs import load_config

import mmtat  # noqa: F401
from mmtat.checks.dry_run import (
    dry_run_crop,
    make_dry_run_dataset,
    shrink_for_dry_run,
)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
METAFILES = ('configs/tat/metafile.yml', 'configs/baselines/metafile.yml')
#: table -> the config of it that trains two iterations here, through
#: mmengine's Runner: the table's TaT config (the one that exercises the most:
#: the distiller, the teacher's validation, TaT's checks)
RUNNER_RUNS = {
    'voc_deeplabv3plus': 'configs/tat/deeplabv3plus_r101_r18_voc.py',
    'cocostuff10k_deeplabv3plus':
    'configs/tat/deeplabv3plus_r101_r18_cocostuff10k.py',
    'cityscapes': 'configs/tat/deeplabv3_r101_r18_cityscapes.py',
    'cityscapes_segformer':
    'configs/tat/segformer_mitb5_deeplabv3_r18_cityscapes.py',
    'voc_release': 'configs/tat/deeplabv3plus_r101_r18_voc_release.py',
    # the release's COCO recipe, validated the release's way (513x513)
    'cocostuff10k_release_val513':
    'configs/tat/deeplabv3plus_r101_r18_cocostuff10k_release_val513.py',
    'ade20k': 'configs/tat/deeplabv3_r101_r18_ade20k.py',
    'ade20k_segformer': 'configs/tat/segformer_mitb5_mitb0_ade20k.py',
    # the release's MobileNetV2 student on both of its datasets, and the
    # pair on MMSegmentation's Cityscapes and ADE20K recipes
    'voc_mobilenetv2': 'configs/tat/deeplabv3plus_r101_mobilenetv2_voc.py',
    'cocostuff10k_mobilenetv2':
    'configs/tat/deeplabv3plus_r101_mobilenetv2_cocostuff10k.py',
    'cityscapes_mobilenetv2':
    'configs/tat/deeplabv3plus_r101_mobilenetv2_cityscapes.py',
    'ade20k_mobilenetv2':
    'configs/tat/deeplabv3plus_r101_mobilenetv2_ade20k.py',
    'voc_mobilenetv2_release':
    'configs/tat/deeplabv3plus_r101_mobilenetv2_voc_release.py',
    'cocostuff10k_mobilenetv2_release_val513':
    'configs/tat/deeplabv3plus_r101_mobilenetv2_cocostuff10k_release_val513.py',
    # global one-to-all TaT, the ablation that mmtat adds
    'voc_ablation': 'configs/tat/deeplabv3_r101_r18_voc_global.py',
    # TaT on several feature pairs
    'voc_variants': 'configs/tat/deeplabv3_r101_r18_voc_multilayer.py',
    # image classification (MMPretrain's ImageNet layout)
    'imagenet': 'configs/tat/resnet34_resnet18_in1k.py',
    'imagenet_mobilenetv2': 'configs/tat/resnet50_mobilenetv2_in1k.py',
}
#: the main metric of a task's validation, as logged (the teacher's under
#: ``teacher.``)
VAL_METRIC = {'Semantic Segmentation': 'mIoU', TASK: 'accuracy/top1'}
#: tables whose full run is elsewhere (a tool run through its command line)
RUNNER_RUNS_ELSEWHERE = {
    'voc': 'tests/test_tools/test_train_resume.py',
    'cocostuff10k': 'tests/test_tools/test_train_resume.py',
    'camvid': 'tests/test_tools/test_reproduce.py',
    # the same training as their sibling tables' runs above; only the
    # validation (voc_release_val513) or the scoring (cocostuff10k_release)
    # differs, and the 513x513 validation runs in
    # cocostuff10k_release_val513's
    'voc_release_val513': 'voc_release, cocostuff10k_release_val513 here',
    'cocostuff10k_release': 'cocostuff10k_release_val513 here',
    # the same for the MobileNetV2 student's release recipe
    'voc_mobilenetv2_release_val513':
    'voc_mobilenetv2_release, cocostuff10k_mobilenetv2_release_val513 here',
    'cocostuff10k_mobilenetv2_release':
    'cocostuff10k_mobilenetv2_release_val513 here',
}


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
            unmeasured = (dict.fromkeys(METRICS) if result['Task'] == TASK
                          else {'mIoU': None})
            assert result['Metrics'] == unmeasured, model['Name']


def _network(model: dict) -> dict:
    """The network of a model dict: an MMRazor ``cfg_path`` read as the
    config it names; where its weights come from and its pre-processor
    left out; a classifier's cross-entropy weight too (a loss setting: the
    release's recipe weighs it 0.1)."""
    model = copy.deepcopy(model)
    if 'cfg_path' in model:
        path = model.pop('cfg_path').replace('mmcls::', 'mmpretrain::')
        model = dict(get_config(path).model.to_dict(), **model)
    for key in ('_scope_', 'data_preprocessor', 'pretrained', 'init_cfg'):
        model.pop(key, None)
    model.get('backbone', {}).pop('init_cfg', None)
    if model.get('type') == 'ImageClassifier':
        model['head'].get('loss', {}).pop('loss_weight', None)
    return model


@pytest.mark.parametrize(
    'entry', [m for m in models() if 'Teacher' in m['Metadata']],
    ids=lambda m: m['Name'])
def test_metafile_teacher_and_student_are_the_configs(entry):
    """The teacher named in the metafile is the one the config loads (with
    MMSegmentation's released weights and mIoU where it has one), and the
    student config is the config's student network."""
    cfg = load_config(osp.join(REPO, entry['Config']))
    teacher, student = entry['Metadata']['Teacher'], entry['Metadata'][
        'Student']
    assert cfg.model.teacher_ckpt == teacher['Weights']
    if teacher['Config'].startswith('mmpretrain::'):
        release = mmpretrain_release(teacher['Config'])
        assert teacher['Metrics'] == release['Metrics']
        assert teacher['Weights'] == release['Weights']
        released = get_config(teacher['Config']).model.to_dict()
    elif teacher['Config'].startswith('mmseg::'):
        release = mmseg_release(teacher['Config'])
        assert teacher['Metrics']['mIoU'] == release['Results']['Metrics'][
            'mIoU']
        assert teacher['Weights'] == release['Weights']
        released = get_config(teacher['Config']).model.to_dict()
    else:  # a teacher trained here first
        assert teacher['Metrics']['mIoU'] is None
        released = load_config(osp.join(
            REPO, teacher['Config'])).model.to_dict()
    teacher_net = _network(cfg.model.teacher.to_dict())
    released = _network(released)
    # the teacher is validated as MMSegmentation tests it
    assert teacher_net == released
    student_cfg = load_config(osp.join(REPO, student['Config']))
    assert _network(cfg.model.architecture.to_dict()) == _network(
        student_cfg.model.to_dict())
    if entry['Results'][0]['Task'] == TASK and 'Weights' in student:
        # the MMPretrain config the student config is, and its release
        with open(osp.join(REPO, student['Config'])) as f:
            (upstream, ) = re.findall(r"'(mmpretrain::[^']+)'", f.read())
        release = mmpretrain_release(upstream)
        assert student['Metrics'] == release['Metrics']
        assert student['Weights'] == release['Weights']


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
def data_dir(module_tmp_path):
    return str(module_tmp_path('zoo_data'))


def test_every_table_has_a_full_training_run():
    tables = set(_tables())
    assert set(RUNNER_RUNS) | set(RUNNER_RUNS_ELSEWHERE) == tables
    assert not set(RUNNER_RUNS) & set(RUNNER_RUNS_ELSEWHERE)
    for table, path in RUNNER_RUNS.items():
        assert path in _tables()[table], (table, path)
    for table, where in RUNNER_RUNS_ELSEWHERE.items():
        if where.startswith('tests/'):
            assert osp.isfile(osp.join(REPO, where)), where


@pytest.mark.parametrize('table', sorted(RUNNER_RUNS))
def test_table_trains_two_iterations_on_generated_data(
        table, data_dir, tmp_path, one_thread):
    from mmengine.runner import Runner
    path = RUNNER_RUNS[table]
    (entry, ) = [m for m in models() if m['Config'] == path]
    metric = VAL_METRIC[entry['Results'][0]['Task']]
    cfg = load_config(osp.join(REPO, path))
    data_root = make_dry_run_dataset(cfg, data_dir, num_val=1)
    work_dir = str(tmp_path / 'run')
    cfg = shrink_for_dry_run(
        cfg, data_root=data_root, work_dir=work_dir,
        crop=dry_run_crop(cfg, crop_height(path)), checkpoint=False,
        name=f'zoo_{table}')
    runner = Runner.from_cfg(cfg)
    runner.train()
    rows = _scalars(work_dir)
    train = [r for r in rows if 'loss' in r]
    assert [r['iter'] for r in train] == [1, 2], path
    assert all(torch.isfinite(torch.tensor(r['loss'])) for r in train)
    distill = [k for k in train[0] if k.startswith('distill.')]
    assert distill and all(r[k] > 0 for r in train for k in distill)
    val = [r for r in rows if metric in r]
    assert len(val) == 1, path
    assert f'teacher.{metric}' in val[0], path
    assert not glob.glob(osp.join(work_dir, '*.pth'))


# config -> (student / teacher channels, teacher map at the real crop, and
# per branch of TaTLoss: (heads, positions each attends over))
REAL_CROP_GEOMETRY = {
    'configs/tat/deeplabv3_r101_r18_ade20k.py':
    ((128, 512), (64, 64), dict(patch=(128, 16), anchor=(1, 256))),
    'configs/tat/segformer_mitb5_mitb0_ade20k.py':
    ((256, 256), (128, 128), dict(patch=(512, 16), anchor=(1, 1024))),
    'configs/tat/deeplabv3_r101_r18_voc_patch_only.py':
    ((128, 512), (64, 64), dict(patch=(16, 64))),
    'configs/tat/deeplabv3_r101_r18_voc_anchor_only.py':
    ((128, 512), (64, 64), dict(anchor=(1, 256))),
    # global one-to-all TaT: one head over every position of the map
    'configs/tat/deeplabv3_r101_r18_voc_global.py':
    ((128, 512), (64, 64), dict(patch=(1, 4096))),
    'configs/tat/deeplabv3plus_r101_r18_voc_global.py':
    ((128, 512), (128, 128), dict(patch=(1, 16384))),
}


def _build_offline(path):
    from mmengine.registry import DefaultScope
    from mmrazor.registry import MODELS

    from mmtat.checks import make_offline
    cfg = load_config(osp.join(REPO, path))
    cfg.model.teacher_ckpt = None
    make_offline(cfg, mode='train')
    with DefaultScope.overwrite_default_scope('mmseg'):
        return cfg, MODELS.build(cfg.model)


@pytest.mark.parametrize('path', sorted(REAL_CROP_GEOMETRY))
def test_tat_configs_build_at_their_real_crop(path):
    """Built as shipped (TaTDistiller's shape-only pass at the config's
    crop), each pair finds its maps and TaTLoss lays out the intended
    attention there."""
    channels, map_size, branches = REAL_CROP_GEOMETRY[path]
    cfg, model = _build_offline(path)
    assert tuple(cfg.model.data_preprocessor.size) == (512, 512)
    (pair, ) = model.distiller.feature_pairs
    assert (pair['student']['channels'], pair['teacher']['channels']) == \
        channels
    assert pair['teacher']['map_size'] == map_size
    (loss, ) = model.distiller.distill_losses.values()
    geometry = loss.geometry(*map_size)
    found = {}
    if geometry.patch_size is not None:
        found['patch'] = (geometry.num_heads,
                          geometry.patch_size[0] * geometry.patch_size[1])
    if geometry.anchor_counts is not None:
        found['anchor'] = (1, geometry.anchor_counts[0] *
                           geometry.anchor_counts[1])
    assert found == branches


def test_global_tat_trains_at_full_resolution(one_thread):
    """The global config's loss on the 64x64 bottleneck maps of a 512x512
    crop: 4096 positions attend to each other without the 4096 x 4096
    attention being materialised, and the student gets the gradient."""
    _, model = _build_offline('configs/tat/deeplabv3_r101_r18_voc_global.py')
    loss = model.distiller.distill_losses['loss_tat_bottleneck']
    assert loss.uses_large_attention(loss.geometry(64, 64))
    loss.train()
    torch.manual_seed(0)
    preds_s = torch.randn(1, 128, 64, 64, requires_grad=True)
    value = loss(preds_s, torch.randn(1, 512, 64, 64))
    assert value.dim() == 0 and torch.isfinite(value) and value > 0
    value.backward()
    assert preds_s.grad.abs().sum() > 0
    assert all(p.grad is not None for p in loss.parameters()
               if p.requires_grad)


def test_dist_configs_are_named_dist():
    """tools/benchmark.py (and the accuracy tables of tools/reproduce.py)
    name every DIST config by its method, not by its loss class."""
    from mmtat.tools.benchmark import method_name
    paths = [p for p in configs_on_disk()
             if osp.basename(p).startswith('dist_')]
    # every table with KD: 12 segmentation tables, and on ImageNet-1k
    # MMRazor's R34 -> R18 config (from scratch and pretrained student) and
    # the R50 -> MobileNetV2 one derived from it
    assert len(paths) == 15
    for path in paths:
        assert method_name(load_config(osp.join(REPO, path))) == 'DIST'
