""".dev_scripts/gpu_check.py: the prepared GPU check runs its CPU checks on a
machine without CUDA and says what it skipped; its GPU checks' plumbing
runs on the CPU at toy sizes; the checks are one list a new check is
appended to."""
import json
import os.path as osp

import pytest
import torch
from dev_scripts import load_script, script_path
from tool_utils import assert_ok, run_tool

gpu_check = load_script('gpu_check')

CUDA = torch.cuda.is_available()


def _report(out):
    with open(osp.join(out, 'gpu_check.json')) as f:
        report = json.load(f)
    with open(osp.join(out, 'gpu_check.md')) as f:
        return report, f.read()


def test_cpu_machine_runs_the_cpu_checks_and_skips_the_gpu_checks(tmp_path):
    out = str(tmp_path)
    argv = ['--out', out]
    if CUDA:  # the GPU checks would take minutes here
        argv += ['--skip', 'loss_benchmark', 'method_benchmark',
                 'teacher_pass']
    assert gpu_check.main(argv) == 0
    report, text = _report(out)
    device = 'cuda' if CUDA else 'cpu'
    assert report['environment']['device'] == device
    rows = report['correctness']['rows']
    assert report['correctness']['passed'] is True
    assert {r['case'] for r in rows} == {'patches_and_anchors',
                                        'large_attention'}
    assert all(r['passed'] and r['finite'] for r in rows), rows
    # the release reference's loss, on the device within tolerance
    for r in rows:
        assert r['loss'] == pytest.approx(r['loss_reference'], rel=2e-3)
    large = [r for r in rows if r['case'] == 'large_attention']
    assert {r['attention'] for r in large} == {
        'sdpa' if device == 'cuda' else 'chunked'}
    assert not any(r['warnings'] for r in rows)  # no fallback, no notice
    if device == 'cpu':
        assert {r['precision'] for r in rows} == {'fp32', 'amp_bf16'}
        for part in ('loss_benchmark', 'method_benchmark', 'teacher_pass'):
            assert 'no CUDA device' in report[part]['skipped']
    assert '## 1. TaTLoss against the release reference' in text
    if device == 'cpu':
        assert text.count('Skipped: no CUDA device') == 3


def test_gpu_checks_plumbing_at_toy_sizes_on_the_cpu(tmp_path):
    """The loss benchmark runs as its own program (a subprocess, as the GPU
    run does), through the script's command line."""
    out = str(tmp_path)
    proc = run_tool([script_path('gpu_check'), '--out', out, '--device',
                     'cpu', '--quick', '--skip', 'method_benchmark',
                     'correctness', 'teacher_pass'])
    assert_ok(proc)
    report, _ = _report(out)
    loss = report['loss_benchmark']
    # quick: the memory case alone (each case is a row of the loss
    # benchmark's own tests)
    assert {(r['case'], r['impl']) for r in loss['rows']} == {
        ('global_tiny', impl) for impl in ('release_loop', 'tat_per_image')
    }
    assert loss['memory_case'] == 'global_tiny'
    assert loss['memory_ratio'] > 0
    assert osp.isfile(osp.join(out, 'tat_loss_benchmark.json'))
    assert report['method_benchmark'] == dict(skipped='--skip')
    assert report['correctness'] == dict(skipped='--skip')


def test_teacher_pass_check_at_toy_size_on_the_cpu(tmp_path):
    """MMRazor's against the lean teacher pass through the benchmark tool
    (one config when quick); AMP needs CUDA."""
    out = str(tmp_path)
    assert gpu_check.main([
        '--out', out, '--device', 'cpu', '--quick', '--skip', 'correctness',
        'loss_benchmark', 'method_benchmark'
    ]) == 0
    report, text = _report(out)
    result = report['teacher_pass']
    assert result['passed'] is True
    assert 'CUDA' in result['runs']['amp']['skipped']
    run = result['runs']['fp32']
    assert run['file'] == osp.join('teacher_pass_fp32', 'benchmark.json')
    with open(osp.join(out, run['file'])) as f:
        # the floors are the method benchmark's (--no-floors)
        assert [(r['role'], r['teacher_pass'])
                for r in json.load(f)['results']] == [('method', 'full'),
                                                      ('method', 'lean')]
    (row, ) = run['rows']
    assert row['method'] == 'KD' and row['passed']
    assert row['losses_rel_diff'] <= run['tolerance']
    assert row['records_rel_diff'] <= run['tolerance']
    full, lean = row['iter_time_s']
    assert row['iter_ratio'] == pytest.approx(lean / full)
    assert "## 4. The lean teacher pass against MMRazor's" in text
    assert any(line.startswith('teacher pass (fp32), lean / full iteration: '
                               'KD ') for line in report['summary'])


def test_a_failed_check_makes_the_exit_status_1(tmp_path, monkeypatch):
    def failing(ctx):
        return dict(rows=[], passed=False)

    monkeypatch.setattr(gpu_check, 'CHECKS', [
        gpu_check.Check('always_fails', 'A check that fails', False, failing,
                        lambda result: ['it failed'],
                        lambda result: ['always_fails: failed'])
    ])
    assert gpu_check.main(['--out', str(tmp_path), '--device', 'cpu']) == 1
    report, text = _report(str(tmp_path))
    assert report['summary'] == ['always_fails: failed']
    assert '## 1. A check that fails' in text and 'it failed' in text


@pytest.mark.skipif(CUDA, reason='about machines without CUDA')
def test_cuda_requested_without_cuda_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        gpu_check.main(['--out', str(tmp_path), '--device', 'cuda'])
    assert 'torch.cuda.is_available() is False' in str(exc.value)
    assert str(exc.value).startswith('ERROR: ')
