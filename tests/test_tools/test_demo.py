"""``tools/demo.py --quick`` runs the trainings end to end: the teacher,
the distilled students and the student alone, from one initialisation."""
import json
import math
import os.path as osp

from tool_utils import assert_ok, run_tool


def test_demo_quick(tmp_path):
    work_dir = tmp_path / 'demo'
    # two of the three methods: the loop over methods, at less cost
    proc = run_tool(['tools/demo.py', '--quick', '--work-dir',
                     str(work_dir), '--seed', '3', '--methods', 'KD', 'TaT'])
    assert_ok(proc)
    out = proc.stdout  # stdout and stderr merged

    # progress: the stage headers in order, and mmengine's logs
    headers = [out.find(f'[{i}/4]') for i in (1, 2, 3, 4)]
    assert -1 < headers[0] < headers[1] < headers[2] < headers[3], \
        out[-3000:]
    assert 'with TaT' in out[headers[1]:headers[2]]  # the shipped order
    assert 'with KD' in out[headers[2]:headers[3]]
    assert 'Iter(train)' in out
    # mmengine's config dump is kept out of the console ...
    assert 'Config:' not in out

    results_json = work_dir / 'demo_results.json'
    results_md = work_dir / 'demo_results.md'
    assert results_json.is_file() and results_md.is_file()
    results = json.loads(results_json.read_text())
    rows = results['rows']
    assert [r['model'] for r in rows] == [
        'teacher', 'student alone', 'TaT student', 'KD student']
    for row in rows:
        assert math.isfinite(row['mIoU']) and 0 <= row['mIoU'] <= 100, row
        assert osp.isfile(row['checkpoint'])
        assert row['checkpoint'].startswith(str(work_dir))
    assert rows[0]['network'] == 'DeepLabV3 R101-D8'
    for row in rows[1:]:
        assert row['network'] == 'DeepLabV3 R18-D8'
        assert row['iters'] == rows[1]['iters']
    assert results['configs'] == dict(
        baseline='configs/baselines/deeplabv3_r18_voc.py',
        TaT='configs/tat/deeplabv3_r101_r18_voc.py',
        KD='configs/baselines/kd_deeplabv3_r101_r18_voc.py')
    assert results['settings']['quick'] is True
    assert results['settings']['seed'] == 3
    assert results['settings']['methods'] == ['TaT', 'KD']
    # what produced the numbers
    origin = results['provenance']
    assert origin['command'].endswith('--methods KD TaT')
    assert origin['machine']['torch'] and origin['machine']['cpu']
    assert origin['commit'] is None or len(origin['commit']) == 40

    # every distillation run loaded the teacher that stage 1 trained: its
    # validation of the teacher (SingleTeacherDistillValLoop) agrees
    assert results['teacher_mIoU_in_distillation_runs'] == dict(
        TaT=rows[0]['mIoU'], KD=rows[0]['mIoU'])
    # ... and logged its loss
    assert 'distill.loss_tat_bottleneck' in out
    assert 'distill.loss_kd' in out
    # all students started from the same saved initial weights
    init = str(work_dir / 'student_init.pth')
    assert (out).count(f'load model from: {init}') == 3

    # the printed table and the .md file hold the returned numbers
    md = results_md.read_text()
    for row in rows:
        cell = f"{row['mIoU']:.2f}"
        assert cell in md and cell in out
    assert 'show that the pipeline runs end to end' in md
    # the synthetic data went into the work dir
    assert osp.isfile(
        osp.join(results['data_root'], 'ImageSets', 'Segmentation',
                 'val.txt'))
    assert results['data_root'].startswith(str(work_dir))

    # ... and ended with the pictures of what the TaT student matches
    names = sorted(osp.basename(p) for p in results['pictures'])
    assert names == ['bottleneck_attention.png', 'bottleneck_pca.png']
    for path in results['pictures']:
        assert osp.isfile(path) and path.startswith(str(work_dir / 'pictures'))
    assert 'Pictures of what the TaT student matches' in out
