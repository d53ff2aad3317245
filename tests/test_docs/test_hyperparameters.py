"""docs/en/hyperparameters.md: the loss-scale table lists every TaT config
with its real weights, and each keeps the release's TaT-to-CE ratio."""
import glob
import os.path as osp
from fractions import Fraction

import pytest
from docs_markdown import REPO, read
from parsed_configs import load_config

PAGE = 'docs/en/hyperparameters.md'
#: the release's batch: its cross-entropy is divided by it
RELEASE_BATCH = 16
#: the release's alpha per dataset
RELEASE_ALPHA = {'_voc': 0.1, '_cocostuff10k': 0.6}


def loss_scale_rows() -> dict:
    """config file -> (alpha, TaT weight, CE weight, valid-pixel mean,
    ratio), from the table between "### Loss scale" and "### Feature"."""
    text = read(PAGE)
    section = text[text.index('### Loss scale'):text.index('### Feature')]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if len(cells) != 6 or not cells[0].endswith('.py'):
            continue
        name, alpha, tat, ce, averaged, ratio = cells
        assert averaged in ('all pixels', 'valid pixels'), line
        rows[name] = (float(alpha.split()[0]), float(Fraction(tat)),
                      float(Fraction(ce)), averaged == 'valid pixels',
                      float(ratio))
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
        if tat_loss_weights(cfg.model.distiller):
            configs[osp.basename(path)] = cfg
    assert sorted(rows) == sorted(configs), \
        f'{PAGE} lists every TaT config, and only those'
    for name, (alpha, tat, ce, valid_mean, ratio) in rows.items():
        model = configs[name].model
        assert ratio == pytest.approx(RELEASE_BATCH * alpha), name
        for part, release_alpha in RELEASE_ALPHA.items():
            if part in name:
                assert alpha == release_alpha, name
        weights = tat_loss_weights(model.distiller)
        assert weights == [pytest.approx(tat)] * len(weights), name
        decode_ce = model.architecture.decode_head.loss_decode
        assert decode_ce.type == 'CrossEntropyLoss', name
        assert decode_ce.loss_weight == pytest.approx(ce), name
        assert decode_ce.get('avg_non_ignore', False) == valid_mean, name
        assert tat / decode_ce.loss_weight == pytest.approx(ratio), name
        if name.startswith('deeplabv3plus_'):
            # the release's pair: the release's normalisation of CE
            assert valid_mean, name
