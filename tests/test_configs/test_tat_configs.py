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
from classification_configs import is_classification
from mmengine.config import Config
from mmseg_metafiles import mmseg_metafile, mmseg_miou
from parsed_configs import load_config
from shared_bases import helper_names

import mmtat  # noqa: F401  (registers TaTLoss, applies mmtat.compat)
from mmtat.checks import find_remote_files

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

# The authors' segmentation release (sihaoevery/TaT-seg, its
# train_voc_resnet18.sh and train_cocostuff10k_resnet18.sh): distilled map
# 129x129, patch grid n, heads, anchor grid, alpha / beta / gamma, lr.
RELEASE_MAP = 129
RELEASE = {
    'voc': dict(grid=16, heads=64, anchors=32, weights=(0.1, 1.0, 0.4),
                lr=0.007),
    'coco': dict(grid=32, heads=512, anchors=32, weights=(0.6, 1.0, 1.0),
                 lr=0.01),
}

# Keys a distillation config adds to (or changes in) the MMSeg config of its
# teacher; everything else must be MMSegmentation's.  custom_imports and
# custom_hooks are those of every shipped config (_base_/mmtat_runtime.py).
DISTILL_KEYS = {'model', 'val_cfg', 'custom_imports', 'custom_hooks',
                'norm_cfg', 'data_preprocessor', 'num_classes'}

OFFLINE_DISTILL = {
    'model.teacher_ckpt': None,
    'model.teacher.pretrained': None,
    'model.architecture.pretrained': None
}


def load(path: str) -> Config:
    return load_config(osp.join(REPO, path))


def load_mmseg(name: str, tmp_path) -> Config:
    child = tmp_path / f'{name}.py'
    child.write_text(f"_base_ = 'mmseg::deeplabv3/{name}.py'\n")
    return Config.fromfile(str(child))


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
    skipped = DISTILL_KEYS | helper_names()
    for key in set(mmseg) | set(tat):
        if key in skipped or key.startswith('_'):
            continue
        # dataset, schedule and runtime exactly as MMSegmentation's
        assert tat.get(key) == mmseg.get(key), key
    for key in set(baseline) | set(tat):
        if key in skipped or key.startswith('_'):
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
    assert model['type'] == 'LeanSingleTeacherDistill'
    mmseg_model = load_mmseg(teacher_name, tmp_path).to_dict()['model']
    # the teacher is MMSeg's R101-D8 of that dataset, with its released
    # weights (MMSegmentation's metafile)
    assert plain(model['teacher']) == plain(mmseg_model)
    meta = mmseg_metafile('deeplabv3')[teacher_name]
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
    distiller = load(CASES[case][0]).model.distiller
    assert distiller.type == 'TaTDistiller'
    # the bottleneck's map before its ReLU (the release's feature point)
    side = dict(module='decode_head.bottleneck', pre_activation=True)
    assert distiller.features.to_dict() == dict(
        bottleneck=dict(student=side, teacher=side))
    release = RELEASE[case]
    # the release's geometry on its 129x129 map, in feature-map positions
    patch = RELEASE_MAP // release['grid']
    assert tuple(distiller.patch_size) == (patch, patch)
    assert distiller.patches_per_group == \
        release['grid']**2 // release['heads']
    window = RELEASE_MAP // release['anchors']
    assert tuple(distiller.anchor_window) == (window, window)
    # alpha at the release's step under this config's SGD learning rate
    # (alpha * lr_release / lr: the loss-scale table's test,
    # tests/test_docs/test_hyperparameters.py), beta, gamma of the
    # release's script for this dataset
    alpha, beta, gamma = release['weights']
    cfg = load(CASES[case][0])
    assert cfg.optim_wrapper.optimizer.type == 'SGD'
    step = alpha * release['lr'] / cfg.optim_wrapper.optimizer.lr
    assert (distiller.loss_weight, distiller.patch_weight,
            distiller.anchor_weight) == (pytest.approx(step), beta, gamma)


def distill_configs():
    """Every shipped segmentation config (TaT, the other methods and the
    networks alone; the image classification ones:
    test_classification_configs.py)."""
    paths = sorted(glob.glob(osp.join(REPO, 'configs', '*', '*.py')))
    found = []
    for path in paths:
        if osp.basename(osp.dirname(path)) == '_base_' or \
                is_classification(path):
            continue
        found.append(osp.relpath(path, REPO))
    assert any(p.startswith('configs/tat/') for p in found)
    return found


def _imagenet_init(network: dict, prefix: str) -> str:
    """The key of a network's ImageNet weights: ``pretrained`` (ResNets) or
    its backbone's ``init_cfg`` (MMSegmentation's SegFormers)."""
    if network.get('pretrained') is None and 'init_cfg' in network.backbone:
        return f'{prefix}.backbone.init_cfg.checkpoint'
    return f'{prefix}.pretrained'


@pytest.mark.parametrize('path', distill_configs())
def test_offline_options_leave_nothing_to_download(path):
    cfg = load(path)
    distill = 'SingleTeacherDistill' in cfg.model.type
    keys = {f.key for f in find_remote_files(cfg, 'train')}
    if distill:
        # the student's ImageNet weights, and the teacher's checkpoint where
        # it comes from MMSegmentation's model zoo (not a teacher trained
        # first, which is a local path)
        from_zoo = cfg.model.teacher_ckpt.startswith('https://')
        if not from_zoo:
            assert cfg.model.teacher_ckpt.startswith('work_dirs/')
        student_init = _imagenet_init(cfg.model.architecture,
                                      'model.architecture')
        assert keys == {student_init} | (
            {'model.teacher_ckpt'} if from_zoo else set())
        # without teacher_ckpt the teacher's ImageNet weights would be used
        no_teacher = copy.deepcopy(cfg)
        no_teacher.merge_from_dict({'model.teacher_ckpt': None})
        teacher_init = ('model.teacher.backbone.init_cfg.checkpoint'
                        if 'init_cfg' in cfg.model.teacher.backbone else
                        'model.teacher.pretrained')
        assert {f.key for f in find_remote_files(no_teacher, 'train')} == {
            teacher_init, student_init
        }
        cfg.merge_from_dict(OFFLINE_DISTILL)
        for key in (teacher_init, student_init):
            if key.endswith('.init_cfg.checkpoint'):
                cfg.merge_from_dict({key[:-len('.checkpoint')]: None})
    else:
        init = _imagenet_init(cfg.model, 'model')
        assert keys == {init}
        cfg.merge_from_dict({init.replace('.init_cfg.checkpoint',
                                          '.init_cfg'): None})
    assert find_remote_files(cfg, 'train') == []
    assert find_remote_files(cfg, 'test') == []


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

    tat = model.distiller.distill_losses['loss_tat_bottleneck']
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
    assert log_vars['distill.loss_tat_bottleneck'] > 0
    # the TaT term is part of the loss the optimiser minimised
    total = sum(v for k, v in log_vars.items() if 'loss' in k and k != 'loss')
    assert log_vars['loss'] == pytest.approx(total, rel=1e-5)

    distiller = model.distiller
    recorders = (distiller.student_recorders.recorders,
                 distiller.teacher_recorders.recorders)
    student_feat = recorders[0]['bottleneck'].data_buffer[0]
    teacher_feat = recorders[1]['bottleneck'].data_buffer[0]
    assert tuple(student_feat.shape) == (2, 128, crop // 8, crop // 8)
    assert tuple(teacher_feat.shape) == (2, 512, crop // 8, crop // 8)

    after = model.state_dict()
    moved = {k for k in before if not torch.equal(before[k], after[k])}
    assert not any(k.startswith('teacher.') for k in moved)
    for embed in ('query_embed', 'value_embed', 'key_embed'):
        assert (f'distiller.distill_losses.loss_tat_bottleneck.{embed}.0.'
                'weight') in moved
    assert 'architecture.decode_head.bottleneck.conv.weight' in moved


def _mmrazor_cwd_miou() -> float:
    import mmrazor
    path = osp.join(osp.dirname(mmrazor.__file__), '.mim', 'configs',
                    'distill', 'mmseg', 'cwd', 'metafile.yml')
    with open(path) as f:
        (model, ) = [m for m in yaml.safe_load(f)['Models']
                     if 'pspnet_r101-d8_pspnet_r18-d8' in m['Name']]
    return model['Results'][0]['Metrics']['mIoU']


#: the public sources the results tables may quote (verified by reading
#: them; see configs/tat/README.md)
EXTERNAL_SOURCES = ('CIRKD README (winycg/CIRKD)',
                    'DIST README (hunto/DIST_KD',
                    'Af-DCD README (OSVAI/Af-DCD)', 'Lin et al., CVPR 2022',
                    'BPKD README (AkideLiu/BPKD)',
                    'overhaul-distillation README '
                    '(clovaai/overhaul-distillation')


def test_readme_lists_only_sourced_numbers():
    """configs/tat/README.md: every number of the results tables is
    MMSegmentation's / MMRazor's metafile value of the named config or a
    named public source; mmtat's own rows carry no number until they are
    measured, and link configs that exist."""
    import re
    with open(osp.join(REPO, 'configs', 'tat', 'README.md')) as f:
        text = f.read()
    section = text[text.index('## Results'):text.index('## Citation')]
    rows = []
    header = None
    for line in section.splitlines():
        if not line.startswith('| '):
            header = None if not line.strip() else header
            continue
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if header is None:
            header = {name: i for i, name in enumerate(cells)}
        elif not cells[0].startswith(':--'):
            rows.append({name: cells[i] for name, i in header.items()})
    assert len(rows) > 20
    counts = dict(zoo=0, own=0, external=0)
    for row in rows:
        source, miou = row['Source'], row['mIoU']
        if source.startswith('MMSegmentation model zoo'):
            config = re.search(r'`(mmseg::\S+\.py)`', row['Config']).group(1)
            assert float(miou) == mmseg_miou(config), row
            counts['zoo'] += 1
        elif source.startswith('MMRazor CWD metafile'):
            assert float(miou) == _mmrazor_cwd_miou(), row
        elif source == 'mmtat':
            assert miou == 'to be measured', row
            link = re.search(r'\]\(([^)]+)\)', row['Config']).group(1)
            assert osp.isfile(osp.join(REPO, 'configs', 'tat', link)), row
            counts['own'] += 1
        else:
            assert any(s in source for s in EXTERNAL_SOURCES), row
            float(miou)
            counts['external'] += 1
    assert all(counts.values()), counts


@pytest.mark.parametrize('case', sorted(CASES))
def test_tat_loss_fits_the_full_size_maps(case, one_thread):
    """Built as shipped (512x512 crops), TaTDistiller finds the 64x64
    bottleneck maps and the decode heads' channels, its geometry gives the
    release's layout there, and the loss reaches the student feature."""
    from mmengine.registry import DefaultScope
    from mmrazor.registry import MODELS
    cfg = load(CASES[case][0])
    cfg.merge_from_dict(OFFLINE_DISTILL)
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model)
    (pair, ) = model.distiller.feature_pairs
    heads = (cfg.model.architecture.decode_head, cfg.model.teacher.decode_head)
    assert pair['student']['channels'] == heads[0].channels
    assert pair['teacher']['channels'] == heads[1].channels
    assert pair['student']['map_size'] == pair['teacher']['map_size'] == (64,
                                                                          64)
    loss = model.distiller.distill_losses['loss_tat_bottleneck']
    geometry = loss.geometry(64, 64)
    release = RELEASE[case]
    # as many patches per group and positions per patch / anchor window as
    # the release on its map
    nh, nw = geometry.patch_counts
    assert nh * nw // geometry.num_heads == \
        release['grid']**2 // release['heads']
    assert geometry.patch_size[0] == RELEASE_MAP // release['grid']
    assert geometry.anchor_window[0] == RELEASE_MAP // release['anchors']
    loss.train()
    torch.manual_seed(0)
    preds_s = torch.randn(2, 128, 64, 64, requires_grad=True)
    preds_t = torch.randn(2, 512, 64, 64)
    value = loss(preds_s, preds_t)
    assert value.dim() == 0 and torch.isfinite(value) and value > 0
    value.backward()
    assert preds_s.grad is not None and preds_s.grad.abs().sum() > 0

