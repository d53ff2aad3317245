"""tools/analysis/gpu_check.py: the prepared GPU check runs its CPU parts
on a machine without CUDA and says what it skipped; its GPU-part plumbing
runs on the CPU at toy sizes."""
import json
import os.path as osp

import pytest
import torch
from tool_utils import assert_ok, run_tool

SCRIPT = 'tools/analysis/gpu_check.py'


def test_cpu_machine_runs_the_cpu_parts_and_skips_the_gpu_parts(tmp_path):
    out = str(tmp_path)
    args = [SCRIPT, '--out', out]
    if torch.cuda.is_available():  # the GPU parts would take minutes here
        args += ['--skip', 'loss_benchmark', 'method_benchmark']
    proc = run_tool(args)
    assert_ok(proc)
    with open(osp.join(out, 'gpu_check.json')) as f:
        report = json.load(f)
    device = 'cuda' if torch.cuda.is_available() else 'cpu'
    assert report['environment']['device'] == device
    rows = report['correctness']
    assert {r['case'] for r in rows} == {'patches_and_anchors',
                                        'large_attention'}
    assert all(r['passed'] and r['finite'] for r in rows), rows
    large = [r for r in rows if r['case'] == 'large_attention']
    assert {r['attention'] for r in large} == {
        'sdpa' if device == 'cuda' else 'chunked'}
    if device == 'cpu':
        assert {r['precision'] for r in rows} == {'fp32', 'amp_bf16'}
        for part in ('loss_benchmark', 'method_benchmark'):
            assert 'no CUDA device' in report[part]['skipped']
    with open(osp.join(out, 'gpu_check.md')) as f:
        text = f.read()
    assert '## 1. TaTLoss against the CPU float64 result' in text
    if device == 'cpu':
        assert text.count('Skipped: no CUDA device') == 2


def test_gpu_parts_plumbing_at_toy_sizes_on_the_cpu(tmp_path):
    out = str(tmp_path)
    proc = run_tool([SCRIPT, '--out', out, '--device', 'cpu', '--quick',
                     '--skip', 'method_benchmark'])
    assert_ok(proc)
    with open(osp.join(out, 'gpu_check.json')) as f:
        report = json.load(f)
    loss = report['loss_benchmark']
    assert {(r['case'], r['impl']) for r in loss['rows']} == {
        (case, impl) for case in ('tiny_patches', 'global_tiny')
        for impl in ('release_loop', 'tat_per_image')
    }
    assert loss['memory_case'] == 'global_tiny'
    assert loss['memory_ratio'] > 0
    assert osp.isfile(osp.join(out, 'tat_loss_benchmark.json'))
    assert report['method_benchmark'] == dict(skipped='--skip')


@pytest.mark.skipif(torch.cuda.is_available(),
                    reason='about machines without CUDA')
def test_cuda_requested_without_cuda_is_refused(tmp_path):
    proc = run_tool([SCRIPT, '--out', str(tmp_path), '--device', 'cuda'])
    assert proc.returncode != 0
    assert 'torch.cuda.is_available() is False' in proc.stdout
    assert 'Traceback' not in proc.stdout
