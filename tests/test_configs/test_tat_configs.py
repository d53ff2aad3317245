"""The TaT distillation configs and the student-only baselines.

They must add only the distillation to MMSegmentation's own dataset,
schedule and runtime; their networks must be MMSegmentation's DeepLabV3
R101-D8 teacher (with its released checkpoint) and R18-D8 student; TaT's
hyper-parameters must keep the geometry of the authors' release; the TaT
weights must be trained by the algorithm's optimiser; and the offline
options must leave nothing to download.
"""
import copy
import glob
import os.path as osp

import pytest
import torch
import yaml
from mmengine.config import Config

import mmtat  # noqa: F401  (registers TaTLoss, applies mmtat.compat)
from mmtat.utils import find_remote_files

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# name of the TaT config -> (MMSeg teacher config, student-only baseline)
CASES = {
    'voc': ('configs/tat/deeplabv3_r101_r18_voc.py',
            'deeplabv3_r101-d8_4xb4-40k_voc12aug-512x512',
            'configs/baselines/deeplabv3_r18_voc.py', 21),
    'coco': ('configs/tat/deeplabv3_r101_r18_cocostuff10k.py',
             'deeplabv3_r101-d8_4xb4-40k_coco-stuff10k-512x512',
             'configs/baselines/deeplabv3_r18_cocostuff10k.py', 171),
}

# The authors' segmentation release (reference notes, "Settings in the
# release's scripts"): distilled map 129x129, patch grid n, heads, anchor
# grid, alpha / beta / gamma.
RELEASE_MAP = 129
RELEASE = {
    'voc': dict(grid=16, heads=64, anchors=32, weights=(0.1, 1.0, 0.4)),
    'coco': dict(grid=32, heads=512, anchors=32, weights=(0.6, 1.0, 1.0)),
}

# Keys a distillation config adds to (or changes in) the MMSeg config of its
# teacher; everything else must be MMSegmentation's.
DISTILL_KEYS = {'model', 'val_cfg', 'custom_imports', 'norm_cfg',
                'data_preprocessor', 'num_classes'}

OFFLINE_DISTILL = {
    'model.teacher_ckpt': None,
    'model.teacher.pretrained': None,
    'model.architecture.pretrained': None
}


def load(path: str) -> Config:
    return Config.fromfile(osp.join(REPO, path))


def load_mmseg(name: str, tmp_path) -> Config:
    child = tmp_path / f'{name}.py'
    child.write_text(f"_base_ = 'mmseg::deeplabv3/{name}.py'\n")
    return Config.fromfile(str(child))


def mmseg_metafile() -> dict:
    import mmseg
    path = osp.join(osp.dirname(mmseg.__file__), '.mim', 'configs',
                    'deeplabv3', 'metafile.yaml')
    with open(path) as f:
        return {m['Name']: m for m in yaml.safe_load(f)['Models']}


def plain(model: dict) -> dict:
    """A network dict without what only tells where it is built."""
    model = copy.deepcopy(model)
    model.pop('_scope_', None)
    model.pop('data_preprocessor', None)
    return model


@pytest.mark.parametrize('case', sorted(CASES))
def test_only_the_distillation_is_added_to_mmseg(case, tmp_path):
    tat_path, teacher_name, baseline_path, _ = CASES[case]
    tat = load(tat_path).to_dict()
    mmseg = load_mmseg(teacher_name, tmp_path).to_dict()
    baseline = load(baseline_path).to_dict()
    for key in set(mmseg) | set(tat):
        if key in DISTILL_KEYS or key.startswith('_'):
            continue
        # dataset, schedule and runtime exactly as MMSegmentation's
        assert tat.get(key) == mmseg.get(key), key
    for key in set(baseline) | set(tat):
        if key in DISTILL_KEYS or key.startswith('_'):
            continue
        assert tat.get(key) == baseline.get(key), key
    assert tat['custom_imports'] == dict(
        imports=['mmtat'], allow_failed_imports=False)
    assert tat['val_cfg'] == dict(type='mmrazor.SingleTeacherDistillValLoop')
    assert tat['train_cfg']['max_iters'] == 40000


@pytest.mark.parametrize('case', sorted(CASES))
def test_networks_are_mmseg_deeplabv3_r101_and_r18(case, tmp_path):
    tat_path, teacher_name, baseline_path, num_classes = CASES[case]
    tat = load(tat_path).to_dict()
    model = tat['model']
    assert model['_scope_'] == 'mmrazor'
    assert model['type'] == 'SingleTeacherDistill'
    mmseg_model = load_mmseg(teacher_name, tmp_path).to_dict()['model']
    # the teacher is MMSeg's R101-D8 of that dataset, with its released
    # weights (MMSegmentation's metafile)
    assert plain(model['teacher']) == plain(mmseg_model)
    meta = mmseg_metafile()[teacher_name]
    assert model['teacher_ckpt'] == meta['Weights']
    # the student is the baseline's network (MMSeg's R18-D8 recipe)
    baseline_model = load(baseline_path).to_dict()['model']
    assert plain(model['architecture']) == plain(baseline_model)
    student = model['architecture']
    assert student['pretrained'] == 'open-mmlab://resnet18_v1c'
    assert student['backbone']['depth'] == 18
    assert (student['decode_head']['in_channels'],
            student['decode_head']['channels']) == (512, 128)
    assert (student['auxiliary_head']['in_channels'],
            student['auxiliary_head']['channels']) == (256, 64)
    assert student['decode_head']['num_classes'] == num_classes
    assert model['teacher']['pretrained'] == 'open-mmlab://resnet101_v1c'
    # one pre-processor for both networks: the algorithm's, MMSeg's
    dp = dict(model['data_preprocessor'])
    assert dp.pop('type') == 'mmseg.SegDataPreProcessor'
    expected = dict(mmseg_model['data_preprocessor'])
    assert expected.pop('type') == 'SegDataPreProcessor'
    assert dp == expected


@pytest.mark.parametrize('case', sorted(CASES))
def test_tat_hyper_parameters_keep_the_release_geometry(case):
    tat = load(CASES[case][0])
    model = tat.model
    loss = model.distiller.distill_losses.loss_tat
    mapping = model.distiller.loss_forward_mappings.loss_tat
    assert loss.type == 'TaTLoss'
    for side, from_student in (('student', True), ('teacher', False)):
        recorder = model.distiller[f'{side}_recorders'][
            mapping['preds_S' if from_student else 'preds_T'].recorder]
        assert recorder.type == 'ModuleOutputs'
        assert recorder.source == 'decode_head.bottleneck'
    assert loss.student_channels == model.architecture.decode_head.channels
    assert loss.teacher_channels == model.teacher.decode_head.channels
    # the distilled map: crop / output stride (4 from the stem, times the
    # stage strides of ResNetV1c)
    stride = 4
    for s in model.architecture.backbone.strides:
        stride *= s
    size = tat.crop_size[0] // stride
    assert tat.crop_size[0] == tat.crop_size[1] and size == 64
    release = RELEASE[case]
    n, m = loss.patch_grid
    assert n == m
    # same patch size in pixels of the distilled map
    assert size // n == RELEASE_MAP // release['grid']
    # same number of patches per head group
    assert n * m // loss.num_heads == release['grid']**2 // release['heads']
    # same anchor pooling window
    assert loss.anchor_grid[0] == loss.anchor_grid[1]
    assert size // loss.anchor_grid[0] == RELEASE_MAP // release['anchors']
    # alpha, beta, gamma of the release's script for this dataset
    assert (loss.loss_weight, loss.patch_weight,
            loss.anchor_weight) == release['weights']


def distill_configs():
    """Every shipped distillation config (TaT and the other methods)."""
    paths = sorted(glob.glob(osp.join(REPO, 'configs', '*', '*.py')))
    found = []
    for path in paths:
        if osp.basename(osp.dirname(path)) == '_base_':
            continue
        found.append(osp.relpath(path, REPO))
    assert any(p.startswith('configs/tat/') for p in found)
    return found


@pytest.mark.parametrize('path', distill_configs())
def test_offline_options_leave_nothing_to_download(path):
    cfg = load(path)
    distill = 'SingleTeacherDistill' in cfg.model.type
    keys = {f.key for f in find_remote_files(cfg, 'train')}
    if distill:
        assert keys == {'model.teacher_ckpt', 'model.architecture.pretrained'}
        # without teacher_ckpt the teacher's ImageNet weights would be used
        no_teacher = copy.deepcopy(cfg)
        no_teacher.merge_from_dict({'model.teacher_ckpt': None})
        assert {f.key for f in find_remote_files(no_teacher, 'train')} == {
            'model.teacher.pretrained', 'model.architecture.pretrained'
        }
        cfg.merge_from_dict(OFFLINE_DISTILL)
    else:
        assert keys == {'model.pretrained'}
        cfg.merge_from_dict({'model.pretrained': None})
    assert find_remote_files(cfg, 'train') == []
    assert find_remote_files(cfg, 'test') == []


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize('case', sorted(CASES))
def test_tat_weights_are_trained_with_the_student(case, one_thread):
    """Build the algorithm (offline, 128x128 crops) and run one training
    step with the config's optimiser: TaT's embeddings are in the
    optimiser with the student's settings and move, the teacher does not;
    the recorded features have the expected channels and stride."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope
    from mmengine.structures import PixelData
    from mmrazor.registry import MODELS
    from mmseg.structures import SegDataSample

    cfg = load(CASES[case][0])
    cfg.merge_from_dict(OFFLINE_DISTILL)
    crop = 128
    cfg.merge_from_dict({'model.data_preprocessor.size': (crop, crop)})
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmseg'):  # as the Runner
        model = MODELS.build(cfg.model)
    model.init_weights()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)

    tat = model.distiller.distill_losses['loss_tat']
    tat_params = list(tat.parameters())
    assert tat_params and all(p.requires_grad for p in tat_params)
    assert not any(p.requires_grad for p in model.teacher.parameters())
    groups = optim_wrapper.optimizer.param_groups
    in_optim = {id(p) for g in groups for p in g['params']}
    assert all(id(p) in in_optim for p in tat_params)
    assert all(id(p) in in_optim for p in model.student.parameters())
    student_lr = {
        g['lr'] for g in groups for p in g['params']
        if any(p is q for q in model.student.parameters())
    }
    tat_lr = {
        g['lr'] for g in groups for p in g['params']
        if any(p is q for q in tat_params)
    }
    assert tat_lr == student_lr == {cfg.optim_wrapper.optimizer.lr}

    num_classes = CASES[case][3]
    data = dict(inputs=[], data_samples=[])
    for _ in range(2):
        data['inputs'].append(
            torch.randint(0, 256, (3, crop, crop), dtype=torch.uint8))
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, num_classes, (1, crop, crop)))
        sample.set_metainfo(dict(img_shape=(crop, crop),
                                 ori_shape=(crop, crop)))
        data['data_samples'].append(sample)
    before = {
        k: v.detach().clone()
        for k, v in model.state_dict().items() if k.endswith('weight')
    }
    model.train()
    log_vars = {
        k: float(v.detach()) if torch.is_tensor(v) else float(v)
        for k, v in model.train_step(data, optim_wrapper).items()
    }
    assert log_vars['distill.loss_tat'] > 0
    # the TaT term is part of the loss the optimiser minimised
    total = sum(v for k, v in log_vars.items() if 'loss' in k and k != 'loss')
    assert log_vars['loss'] == pytest.approx(total, rel=1e-5)

    distiller = model.distiller
    student_feat = distiller.student_recorders.recorders['feat'].data_buffer[0]
    teacher_feat = distiller.teacher_recorders.recorders['feat'].data_buffer[0]
    assert tuple(student_feat.shape) == (2, 128, crop // 8, crop // 8)
    assert tuple(teacher_feat.shape) == (2, 512, crop // 8, crop // 8)

    after = model.state_dict()
    moved = {k for k in before if not torch.equal(before[k], after[k])}
    assert not any(k.startswith('teacher.') for k in moved)
    assert 'distiller.distill_losses.loss_tat.query_embed.0.weight' in moved
    assert 'distiller.distill_losses.loss_tat.value_embed.0.weight' in moved
    assert 'distiller.distill_losses.loss_tat.key_embed.0.weight' in moved
    assert 'architecture.decode_head.bottleneck.conv.weight' in moved


def test_readme_lists_only_sourced_numbers():
    """configs/tat/README.md: the teachers' mIoU are MMSegmentation's
    metafile values of the named configs, and mmtat's own rows carry no
    number until they are measured."""
    import re
    with open(osp.join(REPO, 'configs', 'tat', 'README.md')) as f:
        text = f.read()
    section = text[text.index('## Results'):text.index('## Citation')]
    rows = [
        [c.strip() for c in line.strip().strip('|').split('|')]
        for line in section.splitlines() if line.startswith('| ')
    ]
    header, rows = rows[0], rows[2:]  # rows[1] is the |:--| line
    col = {name: i for i, name in enumerate(header)}
    metafile = mmseg_metafile()
    teachers = [r for r in rows if '(teacher)' in r[col['Model']]]
    assert len(teachers) == 2
    for row in teachers:
        name = re.search(r'mmseg::deeplabv3/(\S+)\.py', row[col['Config']])
        expected = metafile[name.group(1)]['Results']['Metrics']['mIoU']
        assert float(row[col['mIoU']]) == expected
        assert 'metafile' in row[col['Source']]
        # the teacher of the README row is the one the configs load
        case = 'voc' if 'voc12aug' in name.group(1) else 'coco'
        assert load(CASES[case][0]).model.teacher_ckpt == metafile[
            name.group(1)]['Weights']
    own = [r for r in rows if r[col['Source']] == 'mmtat']
    assert len(own) == 4
    assert all(r[col['mIoU']] == 'to be measured' for r in own)
    others = [r for r in rows if r not in teachers and r not in own]
    assert all('Lin et al., CVPR 2022' in r[col['Source']] for r in others)


@pytest.mark.parametrize('case', sorted(CASES))
def test_tat_loss_fits_the_full_size_maps(case, one_thread):
    """The shipped grids are valid on the real 64x64 bottleneck maps of
    512x512 crops (the smoke runs use 128x128 crops, 16x16 maps), and the
    loss reaches the student feature."""
    from mmengine.registry import DefaultScope
    from mmrazor.registry import MODELS
    cfg = load(CASES[case][0])
    with DefaultScope.overwrite_default_scope('mmrazor'):
        loss = MODELS.build(cfg.model.distiller.distill_losses.loss_tat)
    loss.train()
    torch.manual_seed(0)
    preds_s = torch.randn(2, 128, 64, 64, requires_grad=True)
    preds_t = torch.randn(2, 512, 64, 64)
    value = loss(preds_s, preds_t)
    assert value.dim() == 0 and torch.isfinite(value) and value > 0
    value.backward()
    assert preds_s.grad is not None and preds_s.grad.abs().sum() > 0
