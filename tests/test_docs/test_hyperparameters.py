"""docs/en/hyperparameters.md: the loss-scale table lists every ResNet-18
TaT segmentation config with its real weights, and each weight follows the
rule its row names:

* ``step``: the release's step on the TaT term under the config's SGD
  learning rate, ``alpha * release lr / lr``;
* ``balance``: an AdamW config keeps the TaT-to-CE balance of the SGD
  configs of its setting (``alpha * release lr / 0.01``);
* ``release``: the release's own scale, CE ``1 / batch`` and TaT ``alpha``
  at the release's learning rate.
"""
import glob
import os.path as osp
from fractions import Fraction

import pytest
from docs_markdown import REPO, read
from parsed_configs import load_config

PAGE = 'docs/en/hyperparameters.md'
#: the release's batch: its cross-entropy is divided by it
RELEASE_BATCH = 16
#: the release's alpha and learning rate per setting
RELEASE = {'_voc': (0.1, 0.007), '_cocostuff10k': (0.6, 0.01)}
#: the SGD learning rate of MMSegmentation's recipes the shipped configs use
MMSEG_LR = 0.01


def loss_scale_rows() -> dict:
    """config file -> (alpha, release lr, TaT weight, CE weight, valid-pixel
    mean, rule), from the table between "### Loss scale" and the next
    heading of that level."""
    text = read(PAGE)
    start = text.index('### Loss scale')
    section = text[start:text.index('\n### ', start + 1)]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if len(cells) != 7 or not cells[0].endswith('.py'):
            continue
        name, alpha, release_lr, tat, ce, averaged, rule = cells
        assert averaged in ('all pixels', 'valid pixels'), line
        assert rule in ('step', 'balance', 'release'), line
        rows[name] = (float(alpha.split()[0]), float(release_lr),
                      float(Fraction(tat)), float(Fraction(ce)),
                      averaged == 'valid pixels', rule)
    return rows


def tat_loss_weights(distiller) -> list:
    """The loss_weight of each TaT loss a distiller config builds."""
    if distiller.type == 'TaTDistiller':
        common = distiller.get('loss_weight', 1.0)
        return [pair.get('loss_weight', common)
                for pair in distiller.features.values()]
    return [loss.get('loss_weight', 1.0)
            for loss in distiller.get('distill_losses', {}).values()
            if loss.type == 'TaTLoss']


def test_loss_scale_table_matches_the_configs():
    rows = loss_scale_rows()
    configs = {}
    for path in sorted(glob.glob(osp.join(REPO, 'configs', 'tat', '*.py'))):
        cfg = load_config(path)
        if 'mobilenetv2' in osp.basename(path):
            continue  # the MobileNetV2 student's table
        if tat_loss_weights(cfg.model.distiller):
            configs[osp.basename(path)] = cfg
    assert sorted(rows) == sorted(configs), \
        f'{PAGE} lists every ResNet-18 TaT config, and only those'
    for name, (alpha, release_lr, tat, ce, valid_mean, rule) in rows.items():
        cfg = configs[name]
        model, optimizer = cfg.model, cfg.optim_wrapper.optimizer
        setting = [part for part in RELEASE if part in name]
        if setting:  # a dataset of the release: its alpha and lr
            assert (alpha, release_lr) == RELEASE[setting[0]], name
        weights = tat_loss_weights(model.distiller)
        assert weights == [pytest.approx(tat)] * len(weights), name
        decode_ce = model.architecture.decode_head.loss_decode
        assert decode_ce.type == 'CrossEntropyLoss', name
        assert decode_ce.loss_weight == pytest.approx(ce), name
        assert decode_ce.get('avg_non_ignore', False) == valid_mean, name
        if rule == 'step':
            assert optimizer.type == 'SGD', name
            assert tat == pytest.approx(alpha * release_lr / optimizer.lr)
            assert ce == 1, name
        elif rule == 'balance':
            assert optimizer.type == 'AdamW', name
            assert tat == pytest.approx(alpha * release_lr / MMSEG_LR)
            assert ce == 1, name
        else:
            assert optimizer.type == 'SGD', name
            assert optimizer.lr == pytest.approx(release_lr), name
            assert (tat, ce) == (pytest.approx(alpha),
                                 pytest.approx(1 / RELEASE_BATCH)), name
            assert valid_mean, name  # the release's normalisation of CE
        if name.startswith('deeplabv3plus_'):
            # the release's pair: the release's normalisation of CE
            assert valid_mean, name


def test_the_rules_give_the_weights_the_page_states():
    text = read(PAGE)
    start = text.index('### Loss scale')
    section = text[start:text.index('\n### ', start + 1)]
    for alpha, release_lr in RELEASE.values():
        step = alpha * release_lr / MMSEG_LR
        ratio = RELEASE_BATCH * alpha
        assert f'**{step:g}**' in section, step
        assert f'{ratio:g}' in section, ratio
