"""docs/en/hyperparameters.md, "The MobileNetV2 student": the table lists
every MobileNetV2 TaT config with its real weights, and each weight is its
derivation from the release's MobileNetV2 script (alpha, lr, batch) by the
rule its row names, as tests/test_docs/test_hyperparameters.py checks the
ResNet-18 configs:

* ``step``: the release's step on the TaT term under the config's SGD
  learning rate, ``alpha * release lr / lr``, next to a cross-entropy of
  weight 1;
* ``release``: the release's own scale, CE ``1 / batch`` and TaT ``alpha``
  at the release's learning rate and batch.
"""
import glob
import os.path as osp
from fractions import Fraction

import pytest
from docs_markdown import REPO, read
from parsed_configs import load_config

PAGE = 'docs/en/hyperparameters.md'
#: The release's MobileNetV2 scripts (sihaoevery/TaT-seg at 9e34e0e):
#: alpha, lr and batch of train_voc_mobilenet.sh and
#: train_cocostuff10k_mobilenet.sh
RELEASE = {'voc': (0.1, 0.004, 12), 'cocostuff10k': (0.4, 0.007, 12)}
#: the setting each dataset's configs take (the release ran neither
#: Cityscapes nor ADE20K)
SETTING = {'_voc': 'voc', '_cityscapes': 'voc',
           '_cocostuff10k': 'cocostuff10k', '_ade20k': 'cocostuff10k'}
#: GPUs the release-recipe configs are written for (images per iteration =
#: GPUs x the dataloader's batch_size)
RELEASE_RECIPE_GPUS = 4


def section() -> str:
    text = read(PAGE)
    start = text.index('## The MobileNetV2 student')
    return text[start:text.index('\n## ', start + 1)]


def rows() -> dict:
    """config file -> (alpha, release lr, release batch, TaT weight, CE
    weight, valid-pixel mean, rule)."""
    found = {}
    for line in section().splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if len(cells) != 8 or not cells[0].endswith('.py'):
            continue
        name, alpha, lr, batch, tat, ce, averaged, rule = cells
        assert averaged in ('all pixels', 'valid pixels'), line
        assert rule in ('step', 'release'), line
        found[name] = (float(alpha.split()[0]), float(lr), int(batch),
                       float(Fraction(tat)), float(Fraction(ce)),
                       averaged == 'valid pixels', rule)
    return found


def mobilenetv2_tat_configs() -> dict:
    return {
        osp.basename(path): load_config(path)
        for path in sorted(glob.glob(osp.join(
            REPO, 'configs', 'tat', 'deeplabv3plus_r101_mobilenetv2_*.py')))
    }


def test_table_lists_every_mobilenetv2_tat_config():
    configs = mobilenetv2_tat_configs()
    assert len(configs) == 8
    assert sorted(rows()) == sorted(configs), \
        f'{PAGE} lists every MobileNetV2 TaT config, and only those'


@pytest.mark.parametrize('name', sorted(mobilenetv2_tat_configs()))
def test_weight_is_its_derivation_from_the_release_script(name):
    alpha, release_lr, batch, tat, ce, valid_mean, rule = rows()[name]
    (setting, ) = [s for part, s in SETTING.items() if part in name]
    assert (alpha, release_lr, batch) == RELEASE[setting], name
    cfg = mobilenetv2_tat_configs()[name]
    model, optimizer = cfg.model, cfg.optim_wrapper.optimizer
    distiller = model.distiller
    assert distiller.type == 'TaTDistiller'
    assert distiller.loss_weight == pytest.approx(tat), name
    assert all('loss_weight' not in pair
               for pair in distiller.features.values())
    decode_ce = model.architecture.decode_head.loss_decode
    assert decode_ce.type == 'CrossEntropyLoss'
    assert decode_ce.loss_weight == pytest.approx(ce), name
    assert decode_ce.get('avg_non_ignore', False) == valid_mean, name
    assert optimizer.type == 'SGD', name
    if rule == 'step':
        # the release's step on the TaT term, alpha * lr_release, at the
        # config's lr (MMSegmentation's 0.01)
        assert optimizer.lr == 0.01, name
        assert tat == pytest.approx(alpha * release_lr / optimizer.lr)
        assert ce == 1, name
        assert '_release' not in name
    else:
        # the release's own scale, lr and batch
        assert '_release' in name
        assert optimizer.lr == pytest.approx(release_lr), name
        assert (tat, ce) == (pytest.approx(alpha),
                             pytest.approx(1 / batch)), name
        assert cfg.train_dataloader.batch_size * RELEASE_RECIPE_GPUS == \
            batch, name
        assert tat / ce == pytest.approx(batch * alpha)
    if setting in name:
        # the release's pair's datasets: the release's valid-pixel mean
        assert valid_mean, name


def test_the_page_states_both_derivations():
    text = section()
    for alpha, release_lr, batch in RELEASE.values():
        step = alpha * release_lr / 0.01
        assert f'{alpha:g} x {release_lr:g} / 0.01 = **{step:g}**' in text
        assert f'{batch} x {alpha:g} = {batch * alpha:g}' in text
