"""The DeepLabV3+ R101-D8 -> DeepLabV3+ MobileNetV2-D8 configs, the authors'
release's second student.

* The student is MMSegmentation's mobilenet-v2-d8_deeplabv3plus network (on
  the release's pair's datasets with the valid-pixel cross-entropy of those
  tables), the teacher its DeepLabV3+ R101-D8.
* On Cityscapes and ADE20K every config is MMSegmentation's own recipe of
  the pair (dataset, schedule, runtime), its released student included.
* On Pascal VOC and COCO-Stuff10k every config is its ResNet-18 twin with
  the student swapped; the release-recipe ones differ further only in what
  the release's MobileNetV2 scripts change (batch, lr, the length and the
  loss scale that follow).
* TaT keeps the MobileNetV2 scripts' geometry, in positions, and lays out
  the intended attention on the real maps of each config's crop.
* The metafiles' students alone are MMSegmentation's releases.

The loss weights and their derivation: tests/test_docs/
test_hyperparameters_mobilenetv2.py.
"""
import copy
import glob
import os.path as osp

import pytest
import yaml
from mmengine.config import Config
from mmengine.hub import get_config
from mmseg_metafiles import mmseg_release
from parsed_configs import load_config
from shared_bases import helper_names

import mmtat  # noqa: F401  (compat fixes and registration first)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATASETS = ('voc', 'cocostuff10k', 'cityscapes', 'ade20k')
#: MMSegmentation's own MobileNetV2 DeepLabV3+ configs (released students)
MMSEG_STUDENT = {
    'cityscapes': 'mmseg::mobilenet_v2/mobilenet-v2-d8_deeplabv3plus_'
    '4xb2-80k_cityscapes-512x1024.py',
    'ade20k': 'mmseg::mobilenet_v2/mobilenet-v2-d8_deeplabv3plus_'
    '4xb4-160k_ade20k-512x512.py',
}
#: the teachers, MMSegmentation's released DeepLabV3+ R101-D8 (COCO-Stuff10k:
#: trained first, as for the ResNet-18 student)
MMSEG_TEACHER = {
    'voc': 'mmseg::deeplabv3plus/deeplabv3plus_r101-d8_4xb4-40k_'
    'voc12aug-512x512.py',
    'cityscapes': 'mmseg::deeplabv3plus/deeplabv3plus_r101-d8_4xb2-80k_'
    'cityscapes-512x1024.py',
    'ade20k': 'mmseg::deeplabv3plus/deeplabv3plus_r101-d8_4xb4-160k_'
    'ade20k-512x512.py',
}
NUM_CLASSES = {'voc': 21, 'cocostuff10k': 171, 'cityscapes': 19,
               'ade20k': 150}

#: The release's MobileNetV2 scripts (sihaoevery/TaT-seg at 9e34e0e,
#: train_voc_mobilenet.sh and train_cocostuff10k_mobilenet.sh) on its
#: 129x129 decoder map: patch grid n, heads, anchor grid, beta, gamma.
RELEASE_MAP = 129
RELEASE = {
    'voc': dict(grid=32, heads=1024, anchors=64, beta=1.0, gamma=0.5),
    'cocostuff10k': dict(grid=16, heads=64, anchors=32, beta=1.0, gamma=1.0),
}
#: the release setting each dataset's configs take (the release ran neither
#: Cityscapes nor ADE20K)
SETTING = {'voc': 'voc', 'cocostuff10k': 'cocostuff10k',
           'cityscapes': 'voc', 'ade20k': 'cocostuff10k'}
#: what the release-recipe configs change against their ResNet-18 twins:
#: images per GPU (4 GPUs: 12 an iteration), base lr, iterations (100
#: epochs of 12 images), validation / checkpoint interval (10 epochs)
RELEASE_RECIPE = {
    'voc': dict(batch=3, lr=0.004, iters=100 * (10582 // 12),
                interval=10 * (10582 // 12)),
    'cocostuff10k': dict(batch=3, lr=0.007, iters=100 * 750,
                         interval=10 * 750),
}

DISTILL_KEYS = {'model', 'val_cfg', 'custom_imports', 'custom_hooks',
                'norm_cfg', 'data_preprocessor', 'num_classes'}


def _shipped(pattern: str):
    return sorted(
        osp.relpath(p, REPO)
        for p in glob.glob(osp.join(REPO, 'configs', '*', pattern))
        if osp.basename(osp.dirname(p)) != '_base_')


def mobilenetv2_configs():
    found = _shipped('*mobilenetv2_*.py')
    return [p for p in found if not p.endswith('_in1k.py')]


def tat_configs():
    return [p for p in mobilenetv2_configs() if p.startswith('configs/tat/')]


def dataset_of(path: str) -> str:
    (dataset, ) = [d for d in DATASETS if f'mobilenetv2_{d}' in path]
    return dataset


def plain(network: dict) -> dict:
    """A network dict without what only says where it is built."""
    network = copy.deepcopy(network)
    for key in ('_scope_', 'data_preprocessor'):
        network.pop(key, None)
    return network


def student_of(cfg) -> dict:
    model = cfg.model.to_dict()
    return plain(model['architecture'] if 'architecture' in model else model)


def mmseg_network(config: str, num_classes: int,
                  valid_mean: bool = False) -> dict:
    network = plain(get_config(config).model.to_dict())
    for head in ('decode_head', 'auxiliary_head'):
        network[head]['num_classes'] = num_classes
        if valid_mean:
            network[head]['loss_decode']['avg_non_ignore'] = True
    return network


def test_the_configs_of_every_table_are_there():
    # TaT, KD, CWD, DIST and the student alone on four datasets, and TaT
    # and the student alone with the release's recipe (and its 513x513
    # scoring) on the release's two datasets
    assert len(mobilenetv2_configs()) == 4 * 5 + 2 * 2 * 2
    assert len(tat_configs()) == 4 + 2 * 2


@pytest.mark.parametrize('path', mobilenetv2_configs())
def test_networks_are_mmsegmentations(path):
    """The student is MMSegmentation's MobileNetV2-D8 DeepLabV3+ (its
    Cityscapes config's network with the dataset's class count; the
    valid-pixel cross-entropy on the release's pair's datasets, the
    release's loss scale in the release-recipe configs), starting from
    ``mmcls://mobilenet_v2``; the teacher its DeepLabV3+ R101-D8."""
    dataset = dataset_of(path)
    cfg = load_config(osp.join(REPO, path))
    release_pair = dataset in ('voc', 'cocostuff10k')
    expected = mmseg_network(MMSEG_STUDENT['cityscapes'],
                             NUM_CLASSES[dataset], valid_mean=release_pair)
    student = student_of(cfg)
    if '_release' in path:
        assert student['auxiliary_head'] is None
        assert student['decode_head']['loss_decode']['loss_weight'] == \
            pytest.approx(1 / 12)
        student['auxiliary_head'] = expected['auxiliary_head']
        student['decode_head']['loss_decode']['loss_weight'] = 1.0
    assert student == expected
    assert student['pretrained'] == 'mmcls://mobilenet_v2'
    assert student['backbone']['type'] == 'MobileNetV2'
    if 'teacher' in cfg.model:
        if dataset in MMSEG_TEACHER:
            teacher = mmseg_network(MMSEG_TEACHER[dataset],
                                    NUM_CLASSES[dataset])
            assert plain(cfg.model.teacher.to_dict()) == teacher
            release = mmseg_release(MMSEG_TEACHER[dataset])
            assert cfg.model.teacher_ckpt == release['Weights']
        else:  # trained first, with the ResNet-18 tables' teacher config
            assert cfg.model.teacher_ckpt == \
                'work_dirs/deeplabv3plus_r101_cocostuff10k/iter_40000.pth'


def _without_helpers(cfg) -> dict:
    config = cfg.to_dict()
    for name in helper_names():
        config.pop(name, None)
    return config


@pytest.mark.parametrize(
    'path', [p for p in mobilenetv2_configs()
             if dataset_of(p) in MMSEG_STUDENT])
def test_cityscapes_and_ade20k_are_mmsegmentations_recipe(path, tmp_path):
    """Dataset, schedule and runtime exactly as MMSegmentation's
    mobilenet-v2-d8_deeplabv3plus config of the dataset; a student-only
    config is that config (mmtat's run-time hooks added)."""
    dataset = dataset_of(path)
    config = _without_helpers(load_config(osp.join(REPO, path)))
    child = tmp_path / 'mmseg_config.py'
    child.write_text(f"_base_ = '{MMSEG_STUDENT[dataset]}'\n")
    mmseg = Config.fromfile(str(child)).to_dict()
    for key in set(mmseg) | set(config):
        if key in DISTILL_KEYS or key.startswith('_'):
            continue
        assert config.get(key) == mmseg.get(key), key
    if 'distiller' not in config['model']:
        assert plain(config['model']) == plain(mmseg['model'])
    assert config['train_cfg']['max_iters'] == dict(
        cityscapes=80000, ade20k=160000)[dataset]
    assert tuple(config['model']['data_preprocessor']['size']) == dict(
        cityscapes=(512, 1024), ade20k=(512, 512))[dataset]


def _r18_twin(path: str) -> str:
    return path.replace('mobilenetv2', 'r18')


@pytest.mark.parametrize(
    'path', [p for p in mobilenetv2_configs()
             if dataset_of(p) in RELEASE])
def test_voc_and_cocostuff10k_are_their_resnet18_twins_but_the_student(
        path):
    """Every VOC / COCO-Stuff10k config is the ResNet-18 config of the same
    method and recipe with the student swapped (and TaT's settings); the
    release-recipe ones change, besides, the batch, lr and length of the
    release's MobileNetV2 scripts."""
    twin_path = _r18_twin(path)
    assert osp.isfile(osp.join(REPO, twin_path)), twin_path
    config = _without_helpers(load_config(osp.join(REPO, path)))
    twin = _without_helpers(load_config(osp.join(REPO, twin_path)))
    distills = 'distiller' in config['model']
    for cfg in (config, twin):
        if distills:
            cfg['model'].pop('architecture')
        else:
            cfg.pop('model')
    if distills and path.startswith('configs/tat/'):
        distiller = config['model'].pop('distiller')
        twin['model'].pop('distiller')
        assert distiller['input_size'] == \
            config['model']['data_preprocessor']['size']
    if '_release' in path:
        recipe = RELEASE_RECIPE[dataset_of(path)]
        twin['train_dataloader']['batch_size'] = recipe['batch']
        twin['optim_wrapper']['optimizer']['lr'] = recipe['lr']
        scheduler = twin['param_scheduler'][0]
        scheduler['T_max'] = scheduler['end'] = recipe['iters']
        twin['train_cfg'].update(max_iters=recipe['iters'],
                                 val_interval=recipe['interval'])
        twin['default_hooks']['checkpoint']['interval'] = recipe['interval']
    assert config == twin


@pytest.mark.parametrize('path', tat_configs())
def test_tat_keeps_the_release_mobilenetv2_geometry(path):
    """The release's MobileNetV2 setting of the dataset (VOC's for
    Cityscapes, COCO-Stuff10k's for ADE20K), in positions of the map, on
    the decoder's stride-4 feature before its ReLU."""
    distiller = load_config(osp.join(REPO, path)).model.distiller
    assert distiller.type == 'TaTDistiller'
    side = dict(module='decode_head.sep_bottleneck', pre_activation=True)
    assert distiller.features.to_dict() == dict(
        decoder=dict(student=side, teacher=side))
    release = RELEASE[SETTING[dataset_of(path)]]
    patch = RELEASE_MAP // release['grid']
    assert tuple(distiller.patch_size) == (patch, patch)
    assert distiller.patches_per_group == \
        release['grid']**2 // release['heads']
    window = RELEASE_MAP // release['anchors']
    assert tuple(distiller.anchor_window) == (window, window)
    assert (distiller.patch_weight, distiller.anchor_weight) == (
        release['beta'], release['gamma'])


# TaT config -> (crop, teacher map, and per branch of TaTLoss: (heads,
# positions each attends over)); student and teacher features have 512
# channels (MMSegmentation's MobileNetV2 DeepLabV3+ keeps the R101-D8
# decoder widths)
REAL_CROP_GEOMETRY = {
    'voc': ((512, 512), (128, 128),
            dict(patch=(1024, 16), anchor=(1, 4096))),
    'cocostuff10k': ((512, 512), (128, 128),
                     dict(patch=(64, 64), anchor=(1, 1024))),
    'cityscapes': ((512, 1024), (128, 256),
                   dict(patch=(2048, 16), anchor=(1, 8192))),
    'ade20k': ((512, 512), (128, 128),
               dict(patch=(64, 64), anchor=(1, 1024))),
    # the release's 513x513 crops: on 129x129 its own counts (grid 32, 1024
    # heads, anchor grid 64; grid 16, 64 heads, anchor grid 32)
    'voc_release': ((513, 513), (129, 129),
                    dict(patch=(1024, 16), anchor=(1, 4096))),
    'cocostuff10k_release': ((513, 513), (129, 129),
                             dict(patch=(64, 64), anchor=(1, 1024))),
}


@pytest.mark.parametrize('case', sorted(REAL_CROP_GEOMETRY))
def test_tat_configs_build_at_their_real_crop(case):
    """Built as shipped (TaTDistiller's shape-only pass at the config's
    crop), the pair finds both 512-channel decoder maps and TaTLoss lays out
    the intended attention there; from 2048 positions (the anchors) it is
    computed in chunks, without holding the attention."""
    from mmengine.registry import DefaultScope
    from mmrazor.registry import MODELS

    from mmtat.checks import make_offline
    crop, map_size, branches = REAL_CROP_GEOMETRY[case]
    path = f'configs/tat/deeplabv3plus_r101_mobilenetv2_{case}.py'
    cfg = load_config(osp.join(REPO, path))
    assert tuple(cfg.model.data_preprocessor.size) == crop
    assert tuple(cfg.model.distiller.input_size) == crop
    cfg.model.teacher_ckpt = None
    make_offline(cfg, mode='train')
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model)
    (pair, ) = model.distiller.feature_pairs
    assert (pair['student']['channels'], pair['teacher']['channels']) == (
        512, 512)
    assert pair['student']['map_size'] == pair['teacher']['map_size'] == \
        map_size
    (loss, ) = model.distiller.distill_losses.values()
    geometry = loss.geometry(*map_size)
    found = dict(
        patch=(geometry.num_heads,
               geometry.patch_size[0] * geometry.patch_size[1]),
        anchor=(1, geometry.anchor_counts[0] * geometry.anchor_counts[1]))
    assert found == branches
    assert loss.uses_large_attention(geometry) == (
        branches['anchor'][1] >= 2048)


def _metafile_models():
    models = []
    for path in ('configs/tat/metafile.yml', 'configs/baselines/metafile.yml'):
        with open(osp.join(REPO, path)) as f:
            models += yaml.safe_load(f)['Models']
    return [m for m in models if m['Config'] in mobilenetv2_configs()]


def test_metafile_tables_and_released_students():
    """One table per dataset and recipe, each with TaT and the student
    alone; a student that MMSegmentation releases carries its weights and
    mIoU from MMSegmentation's metafile."""
    models = _metafile_models()
    assert len(models) == len(mobilenetv2_configs())
    tables = {}
    for model in models:
        for table in model['Metadata']['Table']:
            tables.setdefault(table, set()).add(model['In Collection'])
    methods = {'TaT', 'KD', 'CWD', 'DIST', 'Student only'}
    assert tables == {
        **{f'{d}_mobilenetv2': methods for d in DATASETS},
        **{f'{d}_mobilenetv2_{recipe}': {'TaT', 'Student only'}
           for d in RELEASE for recipe in ('release', 'release_val513')}
    }
    released = 0
    for model in models:
        student = model['Metadata'].get('Student')
        dataset = dataset_of(model['Config'])
        if dataset not in MMSEG_STUDENT:
            assert student is None or student['Metrics']['mIoU'] is None
            continue
        release = mmseg_release(MMSEG_STUDENT[dataset])
        if student is None:  # the student-only entry itself
            assert model['Weights'] == release['Weights']
            continue
        assert student['Weights'] == release['Weights']
        assert student['Metrics']['mIoU'] == \
            release['Results']['Metrics']['mIoU']
        released += 1
    assert released == 2 * 4  # TaT, KD, CWD, DIST on Cityscapes and ADE20K
