"""The image classification configs (ImageNet-1k, MMPretrain's networks):

* the baselines are MMRazor's own configs (``mmrazor::distill/mmcls/...``)
  and MMPretrain's (``mmpretrain::...``) with mmtat's runtime only (and the
  changes each states), the DIST R50 -> MobileNetV2 one derived from
  MMRazor's DIST and KD configs;
* the TaT configs are MMRazor's KD config of their pair with the TaT
  distiller instead of KD's; the release's recipe and the derivation of
  each weight hold;
* every config builds offline and takes a training step on random 64x64
  images (the 7x7 layer4 map of a 224 crop is 2x2 there: the global
  attention fits any map); the TaT configs find their 7x7 maps at the
  shipped 224 crop; a pretrained student starts from its checkpoint.

The two-iteration Runner run of each table (data pipeline, hooks, student
and teacher validation): test_config_zoo.py."""
import copy
import functools
import os.path as osp
import tempfile

import pytest
import torch
from classification_configs import (
    classification_configs,
    classification_entries,
    mmpretrain_release,
    random_cls_batch,
)
from mmengine.config import Config
from parsed_configs import load_config

import mmtat  # noqa: F401  (compat first: mmcls:: read as mmpretrain::)
from mmtat.checks import find_remote_files, make_offline

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
R18 = 'mmpretrain::resnet/resnet18_8xb32_in1k.py'
R18_WEIGHTS = mmpretrain_release(R18)['Weights']

#: the tables and their configs
TABLES = {
    'imagenet': [
        'configs/baselines/dist_resnet34_resnet18_in1k.py',
        'configs/baselines/dist_resnet34_resnet18_in1k_pretrained.py',
        'configs/baselines/dkd_resnet34_resnet18_in1k.py',
        'configs/baselines/dkd_resnet34_resnet18_in1k_pretrained.py',
        'configs/baselines/kd_resnet34_resnet18_in1k.py',
        'configs/baselines/kd_resnet34_resnet18_in1k_pretrained.py',
        'configs/baselines/resnet18_in1k.py',
        'configs/baselines/resnet18_in1k_pretrained.py',
        'configs/baselines/wsld_resnet34_resnet18_in1k.py',
        'configs/baselines/wsld_resnet34_resnet18_in1k_pretrained.py',
        'configs/tat/resnet34_resnet18_in1k.py',
        'configs/tat/resnet34_resnet18_in1k_pretrained.py',
        'configs/tat/resnet34_resnet18_in1k_release.py',
    ],
    'imagenet_mobilenetv2': [
        'configs/baselines/dist_resnet50_mobilenetv2_in1k.py',
        'configs/baselines/kd_resnet50_mobilenetv2_in1k.py',
        'configs/baselines/mobilenetv2_in1k.py',
        'configs/tat/resnet50_mobilenetv2_in1k.py',
    ],
}
KD_R18 = 'kd/kd_logits_resnet34_resnet18_8xb32_in1k.py'
KD_MBV2 = 'kd/kd_logits_resnet50_mobilenet-v2_8xb32_in1k.py'
DIST_R18 = 'dist/dist_logits_resnet34_resnet18_8xb32_in1k.py'
#: config -> (the upstream config it is, what it changes besides the
#: runtime: dotted key -> value)
UPSTREAM = {
    'configs/baselines/kd_resnet34_resnet18_in1k.py':
    (f'mmrazor::distill/mmcls/{KD_R18}', {}),
    'configs/baselines/dist_resnet34_resnet18_in1k.py':
    (f'mmrazor::distill/mmcls/{DIST_R18}', {}),
    # the teacher's weights from teacher_ckpt only (the same file)
    'configs/baselines/dkd_resnet34_resnet18_in1k.py':
    ('mmrazor::distill/mmcls/dkd/dkd_resnet34_resnet18_8xb32_in1k.py',
     {'model.teacher.pretrained': False}),
    'configs/baselines/wsld_resnet34_resnet18_in1k.py':
    ('mmrazor::distill/mmcls/wsld/wsld_logits_resnet34_resnet18_8xb32_in1k.py',
     {'model.teacher.pretrained': False}),
    'configs/baselines/kd_resnet50_mobilenetv2_in1k.py':
    (f'mmrazor::distill/mmcls/{KD_MBV2}', {}),
    'configs/baselines/resnet18_in1k.py': (R18, {}),
    'configs/baselines/mobilenetv2_in1k.py':
    ('mmpretrain::mobilenet_v2/mobilenet-v2_8xb32_in1k.py', {}),
}
#: pretrained variant -> the config it starts the student of from
#: MMPretrain's ResNet-18 weights (the key of its init_cfg)
PRETRAINED = {
    f'configs/{folder}/{name}_pretrained.py':
    (f'configs/{folder}/{name}.py', key)
    for folder, name, key in
    [('tat', 'resnet34_resnet18_in1k', 'model.architecture.init_cfg')] +
    [('baselines', f'{m}_resnet34_resnet18_in1k',
      'model.architecture.init_cfg') for m in ('kd', 'dkd', 'dist', 'wsld')] +
    [('baselines', 'resnet18_in1k', 'model.init_cfg')]
}
#: TaT config -> MMRazor's KD config of its pair
TAT = {
    'configs/tat/resnet34_resnet18_in1k.py': KD_R18,
    'configs/tat/resnet50_mobilenetv2_in1k.py': KD_MBV2,
}
RUNTIME = ('custom_imports', 'custom_hooks')
SIZE = 64


def load(path: str) -> Config:
    return load_config(osp.join(REPO, path))


@functools.lru_cache(maxsize=None)
def _parsed_base(path: str) -> Config:
    with tempfile.TemporaryDirectory() as tmp:
        child = osp.join(tmp, 'child.py')
        with open(child, 'w') as f:
            f.write(f'_base_ = {path!r}\n')
        return Config.fromfile(child)


def load_upstream(path: str) -> Config:
    """A fresh copy of the ``pkg::`` config ``path`` as mmengine reads it
    as a base."""
    return copy.deepcopy(_parsed_base(path))


def without(cfg: Config, keys=RUNTIME, changes=()) -> dict:
    """``cfg`` as a dict without ``keys`` and the dotted ``changes``."""
    found = cfg.to_dict()
    for key in keys:
        found.pop(key, None)
    for dotted in changes:
        *parents, last = dotted.split('.')
        node = found
        for part in parents:
            node = node[part]
        node.pop(last, None)
    return found


def get(cfg, dotted: str):
    node = cfg
    for part in dotted.split('.'):
        node = node[part]
    return node


def test_the_tables_hold_these_configs():
    tables = {}
    for entry in classification_entries():
        for table in entry['Metadata']['Table']:
            tables.setdefault(table, []).append(entry['Config'])
        assert entry['Metadata']['Training Data'] == 'ImageNet-1k'
        assert entry['Results'][0]['Dataset'] == 'ImageNet-1k'
    assert {t: sorted(c) for t, c in tables.items()} == TABLES
    assert sorted(sum(TABLES.values(), [])) == classification_configs()


# ----------------------------------------------------------------------
# what each config is
# ----------------------------------------------------------------------
@pytest.mark.parametrize('path', sorted(UPSTREAM))
def test_baselines_are_the_upstream_configs_with_mmtats_runtime(path):
    upstream, changes = UPSTREAM[path]
    cfg = load(path)
    for key, value in changes.items():
        assert get(cfg, key) == value, key
        assert get(load_upstream(upstream), key) != value, key
    assert without(cfg, changes=changes) == without(
        load_upstream(upstream), changes=changes)
    runtime = load('configs/_base_/mmtat_runtime.py')
    for key in RUNTIME:
        assert cfg[key] == runtime[key]


@pytest.mark.parametrize('path', sorted(PRETRAINED))
def test_pretrained_variants_start_the_student_from_mmpretrains_weights(
        path):
    base, key = PRETRAINED[path]
    cfg, base_cfg = load(path), load(base)
    assert get(cfg, key) == dict(type='Pretrained', checkpoint=R18_WEIGHTS)
    assert without(cfg, changes=[key]) == without(base_cfg, changes=[key])


@pytest.mark.parametrize('path', sorted(TAT))
def test_tat_configs_are_mmrazors_kd_config_with_tat(path):
    cfg = load(path)
    kd = load_upstream(f'mmrazor::distill/mmcls/{TAT[path]}')
    changed = ['model.type', 'model.distiller']
    assert without(cfg, changes=changed) == without(kd, changes=changed)
    assert kd.model.type == 'SingleTeacherDistill'
    assert cfg.model.type == 'LeanSingleTeacherDistill'
    distiller = cfg.model.distiller.to_dict()
    assert distiller.pop('type') == 'TaTClsDistiller'
    # the crop of the training pipeline, which the pre-processor lacks
    (crop, ) = [t for t in cfg.train_dataloader.dataset.pipeline
                if t.type == 'RandomResizedCrop']
    assert 'size' not in cfg.model.data_preprocessor
    assert distiller.pop('input_size') == (crop.scale, crop.scale) == (224,
                                                                       224)
    # L_tat : CE = 0.2 : 0.1 (the release's), against MMPretrain's CE 1
    ce = (cfg.model.architecture.head.loss.loss_weight
          if 'head' in cfg.model.architecture else 1.0)
    assert ce == 1.0
    assert distiller.pop('loss_weight') == 0.2 / 0.1 * ce
    features = distiller.pop('features', None)
    if 'mobilenet' in TAT[path]:
        assert features == dict(last_map=dict(student='backbone.conv2',
                                              teacher='backbone.layer4'))
    else:  # the default: layer4 of both
        assert features is None
    assert distiller == {}


def test_release_recipe():
    """configs/tat/resnet34_resnet18_in1k_release.py: the release's yaml
    (resnet18_from_resnet34_attn.yaml) and train_local.sh, as written in
    the config's comments."""
    cfg = load('configs/tat/resnet34_resnet18_in1k_release.py')
    model = cfg.model
    # both networks start from ImageNet weights (MMPretrain's)
    assert model.architecture.init_cfg == dict(
        type='Pretrained', checkpoint=R18_WEIGHTS)
    teacher = mmpretrain_release('mmpretrain::resnet/resnet34_8xb32_in1k.py')
    assert model.teacher_ckpt == teacher['Weights']
    # 0.1 * CE + 0.2 * L_tat
    assert model.architecture.head.loss == dict(type='CrossEntropyLoss',
                                                loss_weight=0.1)
    assert model.distiller.loss_weight == 0.2
    assert model.distiller.type == 'TaTClsDistiller'
    # the student network is MMPretrain's ResNet-18 (but the CE weight)
    network = model.architecture.to_dict()
    network.pop('init_cfg')
    network['head']['loss']['loss_weight'] = 1.0
    assert network == load_upstream(R18).model.to_dict()  # scope included
    # AdamW, lr 0.0016 (global, not scaled), weight decay 5e-4
    assert cfg.optim_wrapper.optimizer == dict(type='AdamW', lr=1.6e-3,
                                               weight_decay=5e-4)
    assert cfg.auto_scale_lr.base_batch_size == 8 * 256
    assert cfg.train_dataloader.batch_size == 256
    # 100 epochs, lr x 0.1 at 30, 60, 90
    assert cfg.train_cfg.max_epochs == 100
    assert cfg.param_scheduler.type == 'MultiStepLR'
    assert cfg.param_scheduler.milestones == [30, 60, 90]
    assert cfg.param_scheduler.gamma == 0.1
    # RandomResizedCrop 224 + flip; Resize 256 + CenterCrop 224
    assert [t.type for t in cfg.train_dataloader.dataset.pipeline] == [
        'LoadImageFromFile', 'RandomResizedCrop', 'RandomFlip', 'PackInputs'
    ]
    val = cfg.val_dataloader.dataset.pipeline
    assert [(t.type, t.get('scale'), t.get('edge'), t.get('crop_size'))
            for t in val[1:3]] == [('ResizeEdge', 256, 'short', None),
                                   ('CenterCrop', None, None, 224)]
    assert cfg.val_dataloader.batch_size == 32


def test_dist_mobilenetv2_is_derived_from_mmrazors_dist_and_kd():
    cfg = load('configs/baselines/dist_resnet50_mobilenetv2_in1k.py')
    kd = load_upstream(f'mmrazor::distill/mmcls/{KD_MBV2}')
    dist = load_upstream(f'mmrazor::distill/mmcls/{DIST_R18}')
    # the loss (and Nesterov) of MMRazor's R34 -> R18 DIST config
    ((_, dist_loss), ) = dist.model.distiller.distill_losses.items()
    assert cfg.model.distiller.distill_losses.to_dict() == dict(
        loss_dist=dist_loss.to_dict())
    ((_, dist_inputs), ) = dist.model.distiller.loss_forward_mappings.items()
    assert cfg.model.distiller.loss_forward_mappings.to_dict() == dict(
        loss_dist=dist_inputs.to_dict())
    assert cfg.optim_wrapper.optimizer.nesterov is True
    assert dist.optim_wrapper.optimizer.nesterov is True
    # everything else of MMRazor's KD config of the pair
    changed = ['model.distiller.distill_losses',
               'model.distiller.loss_forward_mappings',
               'optim_wrapper.optimizer.nesterov']
    assert without(cfg, changes=changed) == without(kd, changes=changed)


# ----------------------------------------------------------------------
# offline, built, one step
# ----------------------------------------------------------------------
@pytest.mark.parametrize('path', classification_configs())
def test_remote_files_are_the_teacher_and_the_pretrained_student(path):
    cfg = load(path)
    keys = {f.key for f in find_remote_files(cfg, 'train')}
    expected = set()
    if 'teacher' in cfg.model:
        expected.add('model.teacher_ckpt')
    if path in PRETRAINED or path.endswith('_release.py'):
        key = PRETRAINED.get(path, (None, 'model.architecture.init_cfg'))[1]
        expected.add(f'{key}.checkpoint')
    assert keys == expected
    test_keys = {f.key for f in find_remote_files(cfg, 'test')}
    assert test_keys == expected & {'model.teacher_ckpt'}
    make_offline(cfg, 'train')
    assert find_remote_files(cfg, 'train') == []


def build_offline(path: str, input_size=(SIZE, SIZE)):
    """The config's model with random weights (no teacher checkpoint, no
    pretrained student), the TaT shape pass at ``input_size``."""
    from mmengine.registry import MODELS, DefaultScope
    cfg = load(path)
    make_offline(cfg, 'train')
    for node in (cfg.model, cfg.model.get('architecture', {})):
        node.pop('init_cfg', None)  # its checkpoint is None now
    if cfg.model.get('distiller', {}).get('type') == 'TaTClsDistiller':
        cfg.model.distiller.input_size = input_size
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return cfg, MODELS.build(cfg.model)


def _grad_reaches(module) -> bool:
    return any(p.grad is not None and p.grad.abs().sum() > 0
               for p in module.parameters())


@pytest.mark.parametrize('path', classification_configs())
def test_config_takes_a_training_step(path, one_thread):
    from mmengine.registry import DefaultScope
    cfg, model = build_offline(path)
    model.train()
    distills = 'teacher' in cfg.model
    student = model.student if distills else model
    assert type(student).__name__ == 'ImageClassifier'
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        data = model.data_preprocessor(random_cls_batch(SIZE), True)
        losses = model(data['inputs'], data['data_samples'], mode='loss')
    assert data['inputs'].shape == (2, 3, SIZE, SIZE)
    for name, value in losses.items():
        assert torch.isfinite(value).all(), (name, value)
    first = student.backbone.conv1
    first = first.conv if hasattr(first, 'conv') else first  # MobileNetV2
    if not distills:
        sum(losses.values()).backward()
        assert first.weight.grad.abs().sum() > 0
        return
    distill = {k: v for k, v in losses.items() if k.startswith('distill.')}
    assert set(distill) == {
        f'distill.{name}' for name in model.distiller.distill_losses}
    assert all(v.dim() == 0 and v.item() > 0 for v in distill.values())
    assert 'student.loss' in losses
    assert not any(k.startswith('teacher.') for k in losses)
    # the distillation losses alone reach the student's first layer and
    # what it records, never the teacher; TaT's embeddings are trained
    model.zero_grad(set_to_none=True)
    sum(distill.values()).backward()
    assert first.weight.grad.abs().sum() > 0
    for recorder in model.distiller.student_recorders.recorders.values():
        if recorder.source != 'head.loss_module':  # the labels
            assert _grad_reaches(student.get_submodule(recorder.source))
    assert all(p.grad is None for p in model.teacher.parameters())
    trainable = [p for p in model.distiller.parameters() if p.requires_grad]
    assert all(p.grad is not None for p in trainable)


#: TaT config -> (student, teacher) channels of the distilled maps
TAT_MAPS = {
    'configs/tat/resnet34_resnet18_in1k.py': (512, 512),
    'configs/tat/resnet34_resnet18_in1k_pretrained.py': (512, 512),
    'configs/tat/resnet34_resnet18_in1k_release.py': (512, 512),
    'configs/tat/resnet50_mobilenetv2_in1k.py': (1280, 2048),
}


def test_every_tat_config_has_a_map_case():
    assert sorted(TAT_MAPS) == [
        p for p in classification_configs() if p.startswith('configs/tat/')
    ]


@pytest.mark.parametrize('path', sorted(TAT_MAPS))
def test_tat_configs_find_their_7x7_maps_at_224(path):
    """As shipped (input_size 224), the last maps are 7x7 and TaT attends
    with one head over their 49 positions."""
    cfg = load(path)
    _, model = build_offline(path, tuple(cfg.model.distiller.input_size))
    (pair, ) = model.distiller.feature_pairs
    assert (pair['student']['channels'],
            pair['teacher']['channels']) == TAT_MAPS[path]
    assert pair['student']['map_size'] == pair['teacher']['map_size'] == (7,
                                                                          7)
    (loss, ) = model.distiller.distill_losses.values()
    geometry = loss.geometry(7, 7)
    assert (geometry.num_heads, geometry.patch_size) == (1, (7, 7))
    assert geometry.anchor_counts is None
    assert loss.embed_kernel_size == 3 and not loss.use_key_embed
    assert loss.norm_stats == 'batch'


def test_a_pretrained_student_starts_from_its_checkpoint(tmp_path):
    """The pretrained TaT config loads the whole student classifier from
    its init_cfg when training starts (init_weights), and the teacher from
    teacher_ckpt when it is built; init_weights leaves the teacher."""
    from mmengine.registry import MODELS, DefaultScope
    path = 'configs/tat/resnet34_resnet18_in1k_pretrained.py'
    _, reference = build_offline(path)
    torch.manual_seed(1)
    for module in (reference.student, reference.teacher):
        for param in module.parameters():
            param.data.normal_()
    files = {}
    for part in ('student', 'teacher'):
        files[part] = str(tmp_path / f'{part}.pth')
        torch.save(dict(state_dict=getattr(reference, part).state_dict()),
                   files[part])
    cfg = load(path)
    cfg.model.teacher_ckpt = files['teacher']
    cfg.model.architecture.init_cfg.checkpoint = files['student']
    cfg.model.distiller.input_size = (SIZE, SIZE)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(copy.deepcopy(cfg.model))
        model.init_weights()
    for part in ('student', 'teacher'):
        loaded = getattr(model, part).state_dict()
        for key, value in getattr(reference, part).state_dict().items():
            assert torch.equal(loaded[key], value), (part, key)
