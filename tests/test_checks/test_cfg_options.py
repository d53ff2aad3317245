"""--cfg-options: unknown keys are refused with close matches, +KEY adds a
key on purpose, malformed items get argparse's usage error."""
import argparse

import pytest
from mmengine.config import Config

from mmtat.checks import add_cfg_options_argument, apply_cfg_options
from mmtat.utils import InputError


@pytest.fixture
def cfg():
    return Config(
        dict(
            train_cfg=dict(type='IterBasedTrainLoop', max_iters=40000,
                           val_interval=4000),
            model=dict(teacher_ckpt='https://x/t.pth',
                       backbone=dict(depth=18)),
            train_dataloader=dict(dataset=dict(
                type='ConcatDataset',
                datasets=[dict(data_root='a'), dict(data_root='b')]))))


def test_existing_keys_and_list_indices_are_set(cfg):
    apply_cfg_options(cfg, [
        'train_cfg.max_iters=10', 'model.teacher_ckpt=None',
        'train_dataloader.dataset.datasets.1.data_root=/data',
        'model.backbone.depth=50'
    ])
    assert cfg.train_cfg.max_iters == 10
    assert cfg.model.teacher_ckpt is None
    assert cfg.train_dataloader.dataset.datasets[1].data_root == '/data'
    assert cfg.train_dataloader.dataset.datasets[0].data_root == 'a'
    assert cfg.model.backbone.depth == 50


@pytest.mark.parametrize('option,expected', [
    ('train_cfg.max_iter=10', 'did you mean train_cfg.max_iters?'),
    ('model.teacher_ckp=None', 'did you mean model.teacher_ckpt'),
    ('model.backbone.detph=50', 'did you mean model.backbone.depth?'),
    ('train_dataloader.dataset.datasets.2.data_root=/d',
     'is a list of 2 item(s), "2" is not an index of it (0 to 1)'),
    ('model.backbone.depth.x=1', 'is a int (18), it has no "x"'),
    ('schedule.max_iters=1', 'the config has no "schedule" in the top'),
])
def test_unknown_key_is_refused_with_close_matches(cfg, option, expected):
    with pytest.raises(InputError) as err:
        apply_cfg_options(cfg, [option])
    message = str(err.value)
    assert expected in message
    assert option.split('=')[0] in message
    assert '+train_cfg.val_begin=1000' in message  # how to add on purpose
    # nothing was merged, not even the valid options of the same call
    assert cfg.train_cfg.max_iters == 40000


def test_all_unknown_keys_are_named_at_once(cfg):
    with pytest.raises(InputError) as err:
        apply_cfg_options(cfg, ['train_cfg.max_iters=5', 'a.b=1', 'c=2'])
    assert '"a"' in str(err.value) and '"c"' in str(err.value)
    assert cfg.train_cfg.max_iters == 40000


def test_plus_prefix_adds_a_new_key(cfg):
    apply_cfg_options(cfg, ['+train_cfg.val_begin=1000', '+new.sub=[1,2]'])
    assert cfg.train_cfg.val_begin == 1000
    assert cfg.new.sub == [1, 2]


def _parser():
    parser = argparse.ArgumentParser(prog='train.py')
    add_cfg_options_argument(parser)
    return parser


def test_values_are_parsed_like_mmengine():
    args = _parser().parse_args(
        ['--cfg-options', 'a=1', 'b=(1,2)', 'c=[a,b]', 'd=None', 'e=x'])
    assert args.cfg_options == ['a=1', 'b=(1,2)', 'c=[a,b]', 'd=None', 'e=x']
    cfg = Config(dict(a=0, b=0, c=0, d=0, e=0))
    apply_cfg_options(cfg, args.cfg_options)
    assert (cfg.a, cfg.b, cfg.c, cfg.d, cfg.e) == (1, (1, 2), ['a', 'b'],
                                                    None, 'x')


@pytest.mark.parametrize('item', ['train_cfg', '=1', 'a..b=1', '+=2'])
def test_malformed_item_gets_a_usage_error(item, capsys):
    with pytest.raises(SystemExit) as exc:
        _parser().parse_args(['--cfg-options', item])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith('usage: train.py')
    assert f'"{item}" is not KEY=VALUE' in err
