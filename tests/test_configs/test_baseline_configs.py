"""The baseline distillation configs (KD, CWD, FitNets, AT, MGD, DIST) and
the TaT configs distil what they say they distil.  (Every shipped config's
training step on a random batch: test_config_steps.py.)"""
import copy
import glob
import os.path as osp

import pytest
from classification_configs import is_classification
from parsed_configs import load_config
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
    return load_config(osp.join(REPO, rel))


#: method -> the new name its shared distiller has in
#: configs/_base_/distillers/<method>_logits.py
SHARED_DISTILLERS = {
    method: f'{method}_logits_distiller'
    for method in ('kd', 'cwd', 'dist')
}



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
    """The segmentation ones (the ImageNet-1k KD and DIST configs are
    MMRazor's: test_classification_configs.py)."""
    return sorted(
        osp.relpath(p, REPO) for method in SHARED_DISTILLERS
        for p in glob.glob(osp.join(REPO, f'configs/baselines/{method}_*.py'))
        if not is_classification(p))


def test_logit_baselines_use_their_methods_shared_distiller():
    """Every KD, CWD and DIST config distils with its method's one distiller
    (configs/_base_/distillers): KD with the weight 3 x its class count,
    the SegFormer CWD configs with their connectors added, the rest as it
    is."""
    paths = _logit_baselines()
    assert len(paths) == 37  # 12 KD, 13 CWD, 12 DIST
    shared = {
        method: load_config(
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
