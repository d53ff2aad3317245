"""The baseline distillation configs (KD, CWD, FitNets, AT, MGD, DIST) and
the TaT configs build offline and give finite distillation losses that reach
the student, on a random batch at a small crop."""
import copy
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import MODELS, DefaultScope
from shared_bases import helper_names

import mmtat  # noqa: F401  (compat fixes and TaT registration first)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
METHODS = ('kd', 'cwd', 'fitnets', 'at', 'mgd', 'dist')
DATASETS = ('voc', 'cocostuff10k')
BASELINES = [
    f'configs/baselines/{method}_deeplabv3_r101_r18_{dataset}.py'
    for method in METHODS for dataset in DATASETS
]
TAT = [f'configs/tat/deeplabv3_r101_r18_{dataset}.py' for dataset in DATASETS]
# The baselines read no grid, so the smallest crop will do: 64x64 gives 8x8
# maps at output stride 8.  The TaT configs are run as shipped, which needs
# 128x128 (16x16 maps, their grids are at most 16x16).
CROP = (64, 64)
TAT_CROP = (128, 128)
BATCH = 2  # ASPP's image-pooling branch has BatchNorm on a 1x1 map

# loss type -> the student's module whose output the loss reads
EXPECTED = {
    'kd': ('KLDivergence', 'decode_head.conv_seg'),
    'cwd': ('ChannelWiseDivergence', 'decode_head.conv_seg'),
    'fitnets': ('L2Loss', 'decode_head.bottleneck'),
    'at': ('ATLoss', 'decode_head.bottleneck'),
    'mgd': ('MGDLoss', 'decode_head.bottleneck'),
    'dist': ('DISTLoss', 'decode_head.conv_seg'),
    'tat': ('TaTLoss', 'decode_head.bottleneck'),
}


def _load(rel):
    return Config.fromfile(osp.join(REPO, rel))


#: method -> the new name its shared distiller has in
#: configs/_base_/distillers/<method>_logits.py
SHARED_DISTILLERS = {
    method: f'{method}_logits_distiller'
    for method in ('kd', 'cwd', 'dist')
}



def _offline(cfg, crop=CROP):
    """No download: random weights, and the pre-processor pads to ``crop``."""
    cfg.model.teacher_ckpt = None
    cfg.model.architecture.pretrained = None
    cfg.model.teacher.pretrained = None
    cfg.model.data_preprocessor.size = crop
    return cfg


def _build(cfg):
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope',
                                                      'mmseg')):
        model = MODELS.build(cfg.model)
    return revert_sync_batchnorm(model)


def _batch(num_classes, crop=CROP, batch_size=BATCH, seed=0):
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    gen = torch.Generator().manual_seed(seed)
    h, w = crop
    inputs, samples = [], []
    for _ in range(batch_size):
        inputs.append(torch.randint(0, 256, (3, h, w), generator=gen,
                                    dtype=torch.uint8))
        sample = SegDataSample(metainfo=dict(
            img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w)))
        sample.gt_sem_seg = PixelData(
            data=torch.randint(0, num_classes, (1, h, w), generator=gen))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def _method(rel):
    name = osp.basename(rel)
    return 'tat' if rel.startswith('configs/tat/') else name.split('_')[0]


def test_all_baseline_configs_exist():
    # the first pair's datasets; test_config_zoo.py checks the whole zoo
    found = sorted(
        osp.relpath(p, REPO) for dataset in DATASETS for p in glob.glob(
            osp.join(REPO,
                     f'configs/baselines/*_deeplabv3_r101_r18_{dataset}.py')))
    assert found == sorted(BASELINES)


@pytest.mark.parametrize('rel', BASELINES)
def test_baseline_differs_from_tat_in_the_distiller_only(rel):
    """Same dataset, schedule, runtime, networks and teacher as TaT."""
    dataset = osp.splitext(rel)[0].rsplit('_', 1)[1]
    baseline = _load(rel).to_dict()
    tat = _load(f'configs/tat/deeplabv3_r101_r18_{dataset}.py').to_dict()
    assert baseline['model'].pop('distiller') != tat['model'].pop('distiller')
    for config in (baseline, tat):
        for name in helper_names():
            config.pop(name, None)
    assert baseline == tat


def _logit_baselines():
    return sorted(
        osp.relpath(p, REPO) for method in SHARED_DISTILLERS
        for p in glob.glob(osp.join(REPO, f'configs/baselines/{method}_*.py')))


def test_logit_baselines_use_their_methods_shared_distiller():
    """Every KD, CWD and DIST config distils with its method's one distiller
    (configs/_base_/distillers): KD with the weight 3 x its class count,
    the SegFormer CWD configs with their connectors added, the rest as it
    is."""
    paths = _logit_baselines()
    assert len(paths) == 25  # 8 KD, 9 CWD, 8 DIST
    shared = {
        method: Config.fromfile(
            osp.join(REPO, f'configs/_base_/distillers/{method}_logits.py'))
        [name].to_dict()
        for method, name in SHARED_DISTILLERS.items()
    }
    assert shared['kd']['distill_losses']['loss_kd']['loss_weight'] is None
    with_connectors = []
    for rel in paths:
        method = _method(rel)
        cfg = _load(rel)
        distiller = cfg.model.distiller.to_dict()
        # the name the config assigned from is the distiller it trains with
        assert cfg[SHARED_DISTILLERS[method]].to_dict() == distiller, rel
        expected = copy.deepcopy(shared[method])
        if method == 'kd':
            classes = cfg.model.architecture.decode_head.num_classes
            expected['distill_losses']['loss_kd']['loss_weight'] = 3 * classes
        if method == 'cwd' and 'connectors' in distiller:
            with_connectors.append(rel)
            assert all(c['type'] == 'AvgPoolConnector'
                       for c in distiller.pop('connectors').values())
            inputs = distiller['loss_forward_mappings']['loss_cwd']
            assert any([side.pop('connector', None)
                        for side in inputs.values()])
        assert distiller == expected, rel
    assert with_connectors == [
        'configs/baselines/cwd_segformer_mitb5_deeplabv3_r18_cityscapes.py',
        'configs/baselines/cwd_segformer_mitb5_mitb0_ade20k.py'
    ]


@pytest.mark.parametrize('rel', BASELINES + TAT)
def test_config_distills_the_intended_feature(rel):
    loss_type, source = EXPECTED[_method(rel)]
    distiller = _load(rel).model.distiller
    if _method(rel) == 'tat':
        # TaTDistiller builds its recorders and TaTLoss from `features`;
        # TaT takes the module's map before its ReLU (the release's)
        assert distiller.type == 'TaTDistiller'
        side = dict(module=source, pre_activation=True)
        assert [(f.student, f.teacher) for f in distiller.features.values()
                ] == [(side, side)]
        return
    assert distiller.type == 'ConfigurableDistiller'
    assert [v.type for v in distiller.distill_losses.values()] == [loss_type]
    for recorders in ('student_recorders', 'teacher_recorders'):
        assert [r.source for r in distiller[recorders].values()] == [source]


@pytest.mark.parametrize('rel', BASELINES + TAT)
def test_distill_loss_is_finite_and_reaches_the_student(rel):
    torch.manual_seed(0)
    crop = TAT_CROP if _method(rel) == 'tat' else CROP
    cfg = _offline(_load(rel), crop)
    model = _build(cfg)
    model.train()
    num_classes = cfg.model.architecture.decode_head.num_classes
    data = model.data_preprocessor(_batch(num_classes, crop), True)
    assert data['inputs'].shape == (BATCH, 3) + crop
    losses = model(data['inputs'], data['data_samples'], mode='loss')

    distill = {k: v for k, v in losses.items() if k.startswith('distill.')}
    expected_keys = {
        f'distill.{name}' for name in model.distiller.distill_losses
    }
    assert expected_keys
    assert set(distill) == expected_keys
    assert all(name.startswith('distill.loss_') for name in distill)
    for name, value in distill.items():
        assert value.dim() == 0, name
        assert torch.isfinite(value), (name, value)
        assert value.item() > 0, (name, value)
    # the student's own losses are there too, the teacher's are not
    assert any(k.startswith('student.') for k in losses)
    assert not any(k.startswith('teacher.') for k in losses)

    # Back-propagate the distillation losses alone: they must reach the
    # student all the way down to its first layer, and never the teacher.
    model.zero_grad(set_to_none=True)
    sum(distill.values()).backward()
    student = model.architecture
    _, source = EXPECTED[_method(rel)]
    distilled = student.get_submodule(source)
    grads = [p.grad for p in distilled.parameters()]
    assert any(g is not None and g.abs().sum() > 0 for g in grads), source
    first = next(student.backbone.parameters())
    assert first.grad is not None and first.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.teacher.parameters())
    # connectors (FitNets, MGD) and the TaT embeddings are trained too
    trainable = [p for p in model.distiller.parameters() if p.requires_grad]
    if trainable:
        assert all(p.grad is not None for p in trainable)
