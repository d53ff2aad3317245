"""tools/benchmark.py: side-by-side cost of distillation configs (CPU, tiny
crop, random weights), with MMRazor's and mmtat's lean teacher pass, and
``--collect`` of finished training runs."""
import glob
import json
import os.path as osp
import shutil

import pytest
from PIL import Image
from tool_utils import (
    REPO,
    TAT_VOC,
    assert_ok,
    read_scalars,
    run_tool,
)

import mmtat  # noqa: F401  (compat fixes before MMRazor)

KD_VOC = 'configs/baselines/kd_deeplabv3_r101_r18_voc.py'
FLOORS = ('teacher forward only', 'student only')
# 128x128: the smallest crop at which the shipped TaT grids fit the map.
# Two images: the ASPP image-pool branch has BatchNorm on a 1x1 map, which
# cannot train on a single image (so --batch-size 1 fails for DeepLabV3).
BENCH_ARGS = ['--iters', '1', '--warmup', '0', '--batch-size', '2',
              '--crop', '128', '128', '--device', 'cpu']
PASSES = ['--teacher-pass', 'full', 'lean']
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


def _load_benchmark_module():
    # tools/benchmark.py is an entry point of this module
    from mmtat.tools import benchmark
    return benchmark


@pytest.fixture(scope='module')
def bench(module_tmp_path):
    out = str(module_tmp_path('benchmark'))
    proc = run_tool(['tools/benchmark.py', TAT_VOC, KD_VOC, '--out', out] +
                    BENCH_ARGS + PASSES)
    assert_ok(proc)
    with open(osp.join(out, 'benchmark.json')) as f:
        report = json.load(f)
    return dict(out=out, report=report, stdout=proc.stdout)


@pytest.fixture(scope='module')
def collected(voc_tat_run, voc_baseline_run, module_tmp_path):
    assert_ok(voc_tat_run['proc'])
    assert_ok(voc_baseline_run['proc'])
    out = str(module_tmp_path('accuracy'))
    work_dirs = [voc_tat_run['work_dir'], voc_baseline_run['work_dir']]
    proc = run_tool(['tools/benchmark.py', '--collect'] + work_dirs +
                    ['--out', out])
    assert_ok(proc)
    with open(osp.join(out, 'accuracy.json')) as f:
        rows = json.load(f)['results']
    with open(osp.join(out, 'accuracy.md')) as f:
        table = f.read()
    return dict(rows=rows, table=table, work_dirs=work_dirs, out=out)


def test_benchmark_json_has_methods_floors_and_machine(bench):
    report = bench['report']
    results = report['results']
    # the shared teacher and student are measured once, before the methods,
    # each with both teacher passes
    assert [r['method'] for r in results] == list(FLOORS) + [
        'TaT', 'TaT', 'KD', 'KD']
    assert [r['config'] for r in results] == [TAT_VOC] * 4 + [KD_VOC] * 2
    assert [r['role'] for r in results] == ['teacher', 'student'] + [
        'method'] * 4
    assert [r['teacher_pass'] for r in results] == [None, None] + [
        'full', 'lean'] * 2
    assert [r['teacher_pass_used'] for r in results[2:]] == [
        'full: lean_teacher=False', 'lean'] * 2
    for r in results:
        assert r['dataset'] == 'PascalVOCDataset'
        assert r['batch_size'] == 2 and r['crop'] == [128, 128]
        assert r['device'] == 'cpu'
        assert r['iter_time_s'] > 0
        assert len(r['iter_times_s']) == 1
        assert r['iter_time_s'] == r['iter_times_s'][0]
        assert isinstance(r['peak_mem_mb'], (int, float))
        assert r['peak_mem_mb'] >= 0
    floors, methods = results[:2], results[2:]
    for r in floors:
        assert r['distill_time_s'] is None and r['distill_params'] == 0
        assert r['teacher_pass_s'] is None and r['loss_check'] is None
    for r in methods:
        assert r['distill_time_s'] > 0
        # the teacher's pass is a part of the iteration
        assert 0 < r['teacher_pass_s'] < r['iter_time_s']
    machine = report['machine']
    assert machine['device'] == 'cpu'
    assert machine['cpu_count'] >= 1
    for key in ('cpu', 'torch', 'python', 'date'):
        assert machine[key]


def test_benchmark_counts_the_distillers_parameters(bench):
    """TaT trains its query/key/value embeddings; KD has no parameters."""
    from mmtat.models import TaTLoss

    # R18-D8's bottleneck has 128 channels, R101-D8's 512
    expected = sum(p.numel() for p in TaTLoss(128, 512).parameters())
    assert expected > 0
    for r in bench['report']['results'][2:]:
        assert r['distill_params'] == {'TaT': expected, 'KD': 0}[r['method']]


def test_both_teacher_passes_give_the_same_losses(bench):
    """The loss check: one forward pass from the same weights and batch
    (dropout in eval mode) per pass; the lean one (channels-last networks)
    differs from MMRazor's by float32 rounding."""
    results = bench['report']['results']
    for full, lean in (results[2:4], results[4:6]):
        assert full['loss_check'].keys() == lean['loss_check'].keys()
        assert full['loss_check']['loss'] > 0
        for key, value in full['loss_check'].items():
            if 'loss' in key:
                assert lean['loss_check'][key] == pytest.approx(
                    value, rel=1e-4), key
        assert 'records_rel_error' not in full
        errors = lean['records_rel_error']
        assert errors and all(0 <= e < 1e-4 for e in errors.values())
    assert 'distill.loss_tat_bottleneck' in results[2]['loss_check']
    assert 'distill.loss_kd' in results[4]['loss_check']
    assert set(results[3]['records_rel_error']) == {
        'student.bottleneck[0]', 'teacher.bottleneck[0]'}


def test_benchmark_markdown_has_a_row_per_method(bench):
    with open(osp.join(bench['out'], 'benchmark.md')) as f:
        table = f.read()
    rows = [line for line in table.splitlines() if line.startswith('| ')]
    assert rows[0].startswith('| method |')
    header = [c.strip() for c in rows[0].split('|')]
    body = [[c.strip() for c in row.split('|')] for row in rows[1:7]]
    assert [row[1] for row in body] == list(FLOORS) + ['TaT', 'TaT', 'KD',
                                                       'KD']
    assert [row[header.index('teacher pass')] for row in body] == [
        '-', '-', 'full', 'lean', 'full', 'lean']
    assert body[5][3] == f'`{KD_VOC}`'
    # the methods are compared with the student-only floor
    for row in body[2:]:
        ratio = row[header.index('vs. student only')]
        assert ratio.endswith('x') and float(ratio[:-1]) > 0
        assert float(row[header.index('teacher pass s / iter')]) > 0
    assert 'Batch 2, crop 128x128' in table
    assert table in bench['stdout']


def test_benchmark_markdown_compares_the_teacher_passes(bench):
    with open(osp.join(bench['out'], 'benchmark.md')) as f:
        table = f.read()
    assert 'Lean against full teacher pass' in table
    rows = [line for line in table.splitlines() if line.startswith('| ')]
    start = [i for i, row in enumerate(rows)
             if row.startswith('| method | dataset | config | s / iter full')]
    assert len(start) == 1
    header = [c.strip() for c in rows[start[0]].split('|')]
    compared = [[c.strip() for c in row.split('|')]
                for row in rows[start[0] + 1:]]
    assert [row[1] for row in compared] == ['TaT', 'KD']
    results = bench['report']['results']
    for row, (full, lean) in zip(compared, (results[2:4], results[4:6])):
        ratio = row[header.index('lean / full')]
        assert ratio == f'{lean["iter_time_s"] / full["iter_time_s"]:.2f}x'
        assert float(row[header.index('losses rel. diff.')]) < 1e-4
        assert float(row[header.index('records rel. diff.')]) == float(
            f'{max(lean["records_rel_error"].values()):.1e}')


def test_benchmark_plot_is_a_png(bench):
    from PIL import Image

    path = osp.join(bench['out'], 'benchmark.png')
    with open(path, 'rb') as f:
        assert f.read(8) == PNG_MAGIC
    with Image.open(path) as image:
        assert image.format == 'PNG'
        assert image.width > 100 and image.height > 100


def _scalars(work_dir):
    rows = read_scalars(work_dir)
    train = [r for r in rows if 'loss' in r]
    val = [r for r in rows if 'mIoU' in r]
    return train, val


def test_collect_reads_method_dataset_miou_and_iterations(collected):
    tat, student = collected['rows']
    assert tat['method'] == 'TaT'
    assert student['method'] == 'DeepLabV3 R18 alone'
    for row, work_dir in zip(collected['rows'], collected['work_dirs']):
        assert row['work_dir'] == work_dir
        assert row['dataset'] == 'PascalVOCDataset'
        assert row['iterations'] == 2
        assert row['world_size'] == 1
        _, val = _scalars(work_dir)
        assert row['student_mIoU'] == pytest.approx(val[-1]['mIoU'])
    _, tat_val = _scalars(collected['work_dirs'][0])
    assert tat['teacher_mIoU'] == pytest.approx(tat_val[-1]['teacher.mIoU'])
    assert student['teacher_mIoU'] is None


def test_collect_training_wall_time_and_miou_per_device_hour(collected):
    for row, work_dir in zip(collected['rows'], collected['work_dirs']):
        train, _ = _scalars(work_dir)
        # logger interval 1: every iteration's duration is logged; the wall
        # time covers them all (log timestamps have a 1 s resolution)
        assert len(train) == 2
        assert row['train_wall_s'] >= sum(r['time'] for r in train) - 2
        assert row['device_hours'] == pytest.approx(row['train_wall_s'] /
                                                    3600)
        assert row['mIoU_per_device_hour'] == pytest.approx(
            row['student_mIoU'] / row['device_hours'])


def test_collect_curves_and_plot(collected):
    """Each validation of a run with the device-hours spent when it was
    made, plotted for a comparison at matched training cost."""
    for row, work_dir in zip(collected['rows'], collected['work_dirs']):
        _, val = _scalars(work_dir)
        assert [p['iteration'] for p in row['curve']] == [
            r['step'] for r in val
        ]
        assert [p['mIoU'] for p in row['curve']] == pytest.approx(
            [r['mIoU'] for r in val])
        # the time spent up to the validated iteration: within the run's
        # total (which also counts the validation and checkpoint after it)
        hours = [p['device_hours'] for p in row['curve']]
        assert hours == sorted(hours)
        assert 0 <= hours[-1] <= row['device_hours']
    with Image.open(osp.join(collected['out'], 'accuracy.png')) as picture:
        assert picture.format == 'PNG' and picture.size[0] > 400


def test_benchmark_amp_needs_cuda(capsys):
    benchmark = _load_benchmark_module()
    with pytest.raises(SystemExit) as exc:
        benchmark.parse_args(
            ['configs/tat/deeplabv3_r101_r18_voc.py', '--amp'])
    assert exc.value.code == 2
    assert '--amp needs --device cuda' in capsys.readouterr().err


def test_collect_markdown_has_a_row_per_run(collected):
    rows = [line for line in collected['table'].splitlines()
            if line.startswith('| ')]
    assert [row.split('|')[1].strip() for row in rows[1:]] == [
        'TaT', 'DeepLabV3 R18 alone'
    ]
    # no teacher for the student-only run
    assert rows[2].split('|')[3].strip() == '-'


def test_collect_counts_the_processes_mmengine_logged(collected, tmp_path):
    """A distributed run's log says 'GPU number: N' (its world size); the
    device-hours are the wall time times N."""
    src = collected['work_dirs'][0]
    work_dir = str(tmp_path / 'tat_4_procs')
    shutil.copytree(src, work_dir)
    # mmengine's log: WORK_DIR/TIMESTAMP/TIMESTAMP.log
    (log, ) = glob.glob(osp.join(work_dir, '*', '*.log'))
    with open(log) as f:
        text = f.read()
    assert text.count('GPU number: 1') == 1
    with open(log, 'w') as f:
        f.write(text.replace('GPU number: 1', 'GPU number: 4'))

    from mmtat.checks.results import collect_run
    row = collect_run(work_dir)
    single = collected['rows'][0]
    assert row['world_size'] == 4
    assert row['train_wall_s'] == single['train_wall_s']
    assert row['device_hours'] == pytest.approx(4 * single['device_hours'])


def test_teacher_pass_needs_mmtats_algorithm(tmp_path):
    config = tmp_path / 'plain_mmrazor.py'
    config.write_text(
        f"_base_ = '{osp.join(REPO, KD_VOC)}'\n"
        "model = dict(type='SingleTeacherDistill')\n")
    benchmark = _load_benchmark_module()
    with pytest.raises(SystemExit) as exc:
        benchmark.main([str(config), '--teacher-pass', 'lean', '--out',
                        str(tmp_path / 'out')])
    assert str(exc.value) == (
        "ERROR: --teacher-pass lean: the config's algorithm is "
        "'SingleTeacherDistill'; the pass is an option of mmtat's "
        "LeanSingleTeacherDistill (model.type='LeanSingleTeacherDistill', "
        'as in the shipped configs).')


def test_benchmark_refuses_a_batch_of_one(capsys):
    benchmark = _load_benchmark_module()
    with pytest.raises(SystemExit) as exc:
        benchmark.parse_args(
            ['configs/tat/deeplabv3_r101_r18_voc.py', '--batch-size', '1'])
    assert exc.value.code == 2
    assert '--batch-size must be >= 2' in capsys.readouterr().err


TAT_IN1K = 'configs/tat/resnet34_resnet18_in1k.py'
KD_IN1K = 'configs/baselines/kd_resnet34_resnet18_in1k.py'


def test_benchmark_of_classification_configs(tmp_path):
    """The ImageNet configs (MMPretrain's ResNets, MMRazor's KD) side by
    side on synthetic labelled images, with the floors of their shared
    teacher and student (at a small crop: the tool's use is 224x224)."""
    out = str(tmp_path / 'out')
    proc = run_tool(['tools/benchmark.py', TAT_IN1K, KD_IN1K, '--out', out,
                     '--iters', '1', '--warmup', '0', '--batch-size', '2',
                     '--crop', '64', '64'])
    assert_ok(proc)
    with open(osp.join(out, 'benchmark.json')) as f:
        results = json.load(f)['results']
    assert [r['method'] for r in results] == list(FLOORS) + ['TaT', 'KD']
    for r in results:
        assert r['dataset'] == 'ImageNet' and r['crop'] == [64, 64]
        assert r['student'] == 'ResNet-18'
        assert r['iter_time_s'] > 0 and r['peak_mem_mb'] >= 0
    tat, kd = results[2:]
    assert tat['distill_params'] > 0 and kd['distill_params'] == 0
    for r in (tat, kd):
        assert 0 < r['teacher_pass_s'] < r['iter_time_s']
        assert r['loss_check']['loss'] > 0
    assert 'distill.loss_kl' in kd['loss_check']
    assert any(k.startswith('distill.loss_tat') for k in tat['loss_check'])
    with open(osp.join(out, 'benchmark.md')) as f:
        table = f.read()
    student = results[1]['iter_time_s']
    assert (f'| TaT | ImageNet | `{TAT_IN1K}` | lean | '
            f'{tat["iter_time_s"]:.3f} | {tat["iter_time_s"] / student:.2f}x'
            ) in table
    assert 'Batch 2, crop 64x64' in table


def test_benchmark_sets_the_crop_everywhere_a_config_holds_it():
    """The pre-processor pads to the crop, and the distiller's shape pass
    checks the geometry at that crop (a segmentation TaT config states its
    ``input_size`` too)."""
    from mmengine.config import Config

    from mmtat.tools.benchmark import _set_offline_and_size
    cfg = Config.fromfile('configs/tat/deeplabv3_r101_r18_voc.py')
    assert tuple(cfg.model.distiller.input_size) == (512, 512)
    _set_offline_and_size(cfg, (256, 320))
    assert tuple(cfg.model.data_preprocessor.size) == (256, 320)
    assert tuple(cfg.model.distiller.input_size) == (256, 320)
