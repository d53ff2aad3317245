""".dev_scripts/benchmark_tat_loss.py: every row of the toy cases (the
release reference, TaTLoss and its diagnostic option changes) computes the
same loss and student gradient, in-process; wrong options are one
paragraph. The subprocess orchestration runs in test_gpu_check.py."""
import math

import pytest
from dev_scripts import load_script

from mmtat.models import TaTLoss

bench = load_script('benchmark_tat_loss')


def test_every_row_has_a_label_and_every_option_change_is_a_loss_option():
    for case in bench.CASES.values():
        assert case['impls'][0] == 'release_loop'
        assert set(case['impls']) <= set(bench.IMPL_LABELS)
    default = TaTLoss(1, 1)
    for impl, change in bench.OPTION_CHANGES.items():
        changed = TaTLoss(1, 1, **change)
        assert any(getattr(changed, name) != getattr(default, name)
                   for name in change), impl


@pytest.mark.parametrize('case', ['tiny_patches', 'global_tiny'])
def test_rows_agree_with_the_release_reference(case):
    rows = {
        impl: bench.run_child(
            dict(case=case, impl=impl, device='cpu', repeat=1, warmup=0,
                 mode='time'))
        for impl in bench.CASES[case]['impls']
    }
    want = rows['release_loop']
    for impl, row in rows.items():
        assert row['median_ms'] > 0 and row['peak_rise_bytes'] >= 0
        if impl == 'tat_batch_stats':  # another normalisation, another loss
            assert not math.isclose(row['loss'], want['loss'], rel_tol=1e-5)
            continue
        assert math.isclose(row['loss'], want['loss'], rel_tol=1e-5), impl
        assert math.isclose(row['grad_abs_sum'], want['grad_abs_sum'],
                            rel_tol=1e-5), impl


def test_the_report_names_machine_rows_and_cases():
    rows = []
    for impl in ('release_loop', 'tat_per_image'):
        row = bench.run_child(dict(case='global_tiny', impl=impl,
                                   device='cpu', repeat=1, warmup=0,
                                   mode='memory'))
        row.update(bench.run_child(dict(case='global_tiny', impl=impl,
                                        device='cpu', repeat=1, warmup=0,
                                        mode='time')))
        row['pinned_rise_bytes'] = row['peak_rise_bytes']
        rows.append(row)
    from mmtat.utils.machine import machine_info
    text = bench.format_report(machine_info('cpu'), rows, 'cpu')
    assert '| global_tiny | TaTLoss (default: per-image BN stats) |' in text
    assert 'Full 576x576 float32 attention matrix' in text
    assert 'global_tiny: B=1, S 8ch -> T 16ch, 24x24' in text


@pytest.mark.parametrize('argv,match', [
    (['--repeat', '0'], '--repeat must be >= 1 and --warmup >= 0, got 0'),
    (['--warmup', '-1'], 'got 5 and -1'),
])
def test_wrong_options_are_one_paragraph(argv, match):
    with pytest.raises(SystemExit) as exc:
        bench.main(argv)
    assert str(exc.value).startswith('ERROR: ') and match in str(exc.value)
