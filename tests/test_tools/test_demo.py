"""``tools/demo.py --quick`` runs the three trainings end to end."""
import json
import math
import os.path as osp

from tool_utils import assert_ok, run_tool


def test_demo_quick(tmp_path):
    work_dir = tmp_path / 'demo'
    proc = run_tool(['tools/demo.py', '--quick', '--work-dir',
                     str(work_dir), '--seed', '3'])
    assert_ok(proc)
    out = proc.stdout  # stdout and stderr merged

    # progress: the three stage headers in order, and mmengine's logs
    headers = [out.find(f'[{i}/3]') for i in (1, 2, 3)]
    assert -1 < headers[0] < headers[1] < headers[2], out[-3000:]
    assert 'Iter(train)' in out
    # mmengine's config dump is kept out of the console ...
    assert 'Config:' not in out

    results_json = work_dir / 'demo_results.json'
    results_md = work_dir / 'demo_results.md'
    assert results_json.is_file() and results_md.is_file()
    results = json.loads(results_json.read_text())
    rows = results['rows']
    assert [r['model'] for r in rows] == ['teacher', 'student', 'TaT student']
    for row in rows:
        assert math.isfinite(row['mIoU']) and 0 <= row['mIoU'] <= 100, row
        assert osp.isfile(row['checkpoint'])
        assert row['checkpoint'].startswith(str(work_dir))
    assert rows[0]['network'] == 'DeepLabV3 R101-D8'
    assert rows[1]['network'] == rows[2]['network'] == 'DeepLabV3 R18-D8'
    assert rows[1]['iters'] == rows[2]['iters']
    assert results['configs'] == dict(
        tat='configs/tat/deeplabv3_r101_r18_voc.py',
        baseline='configs/baselines/deeplabv3_r18_voc.py')
    assert results['settings']['quick'] is True
    assert results['settings']['seed'] == 3

    # the TaT run loaded the teacher that stage 1 trained: its validation of
    # the teacher (SingleTeacherDistillValLoop) agrees with stage 1's
    assert results['teacher_mIoU_in_tat_run'] == rows[0]['mIoU']
    # ... and logged a TaT loss
    assert 'distill.loss_tat_bottleneck' in out
    # both students started from the same saved initial weights
    init = str(work_dir / 'student_init.pth')
    assert (out).count(f'load model from: {init}') == 2

    # the printed table and the .md file hold the returned numbers
    md = results_md.read_text()
    for row in rows:
        cell = f"{row['mIoU']:.2f}"
        assert cell in md and cell in out
    assert 'only show that the pipeline runs' in md
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
