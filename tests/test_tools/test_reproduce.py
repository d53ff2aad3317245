"""tools/reproduce.py: a whole results table as one command, rehearsed with
--dry-run on the CPU (the CamVid table: a teacher trained first, handed to
the TaT, KD and CWD runs), then skipped when finished and resumed when
interrupted."""
import json
import os
import os.path as osp

import pytest
from tool_utils import assert_ok, run_tool, train_iters_logged

TABLE = 'camvid'
JOBS = ('deeplabv3_r101_camvid', 'tat_deeplabv3_r101_r18_camvid',
        'deeplabv3_r18_camvid', 'kd_deeplabv3_r101_r18_camvid',
        'cwd_deeplabv3_r101_r18_camvid', 'dist_deeplabv3_r101_r18_camvid')
#: tables added after CamVid: their dry-run plan is checked here; each one's
#: TaT config trains two iterations in tests/test_configs/test_config_zoo.py
#: and every config of them takes a training step in test_config_steps.py
NEW_TABLES = {
    'ade20k': ('ADE20KDataset', 5),
    'ade20k_segformer': ('ADE20KDataset', 5),
    'voc_ablation': ('PascalVOCDataset', 8),
    # the release's recipe: MMSegmentation's released teacher
    'voc_release': ('PascalVOCDataset', 2),
}


@pytest.fixture(scope='module')
def dry_run(tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('reproduce'))
    proc = run_tool(['tools/reproduce.py', TABLE, '--dry-run', '--work-dir',
                     work_dir, '--poll', '0.2', '--concurrent', '2'],
                   timeout=1200)
    return dict(proc=proc, work_dir=work_dir,
                table_dir=osp.join(work_dir, TABLE))


def test_list_names_every_table_and_its_configs():
    proc = run_tool(['tools/reproduce.py', '--list'])
    assert_ok(proc)
    for table in ('voc', 'cocostuff10k', 'voc_deeplabv3plus',
                  'cocostuff10k_deeplabv3plus', 'cityscapes',
                  'cityscapes_segformer', 'camvid') + tuple(NEW_TABLES):
        assert f'{table}:' in proc.stdout
    assert 'configs/baselines/deeplabv3_r101_camvid.py' in proc.stdout


def test_unknown_table_is_refused_with_close_matches(tmp_path):
    proc = run_tool(['tools/reproduce.py', 'cityscape', '--work-dir',
                     str(tmp_path)])
    assert proc.returncode == 1
    assert "no table 'cityscape'" in proc.stdout
    assert 'Did you mean: cityscapes' in proc.stdout
    assert 'Traceback' not in proc.stdout
    assert os.listdir(tmp_path) == []


def test_dry_run_trains_the_table_in_order_and_collects(dry_run):
    assert_ok(dry_run['proc'])
    out = dry_run['proc'].stdout
    # the teacher trained first runs first
    assert out.index('starting deeplabv3_r101_camvid') < min(
        out.index(f'starting {job}') for job in JOBS[1:])
    for job in JOBS:
        with open(osp.join(dry_run['table_dir'], job, 'done.json')) as f:
            done = json.load(f)
        assert done['checkpoint'].endswith('iter_2.pth')
        assert osp.isfile(done['checkpoint'])
    with open(osp.join(dry_run['table_dir'], 'accuracy.json')) as f:
        rows = {osp.basename(r['work_dir']): r
                for r in json.load(f)['results']}
    assert set(rows) == set(JOBS)
    assert rows['tat_deeplabv3_r101_r18_camvid']['method'] == 'TaT'
    assert rows['deeplabv3_r101_camvid']['method'] == 'DeepLabV3 R101 alone'
    # the distillation runs loaded the teacher the table trained: their
    # teacher validates exactly as that teacher did
    teacher = rows['deeplabv3_r101_camvid']['student_mIoU']
    for job in JOBS[1:]:
        if job == 'deeplabv3_r18_camvid':
            continue  # the student alone has no teacher
        assert rows[job]['teacher_mIoU'] == pytest.approx(teacher)
        with open(osp.join(dry_run['table_dir'], job,
                           'reproduce.log')) as f:
            assert 'model.teacher_ckpt=' + osp.join(
                dry_run['table_dir'], 'deeplabv3_r101_camvid',
                'iter_2.pth') in f.read()
    assert osp.isfile(osp.join(dry_run['table_dir'], 'accuracy.png'))


def test_finished_runs_are_skipped_and_interrupted_ones_resume(dry_run):
    assert_ok(dry_run['proc'])
    table_dir = dry_run['table_dir']
    # CWD "was killed" after its first iteration: no done.json, its last
    # complete checkpoint is iter_1.pth
    cwd = osp.join(table_dir, 'cwd_deeplabv3_r101_r18_camvid')
    os.remove(osp.join(cwd, 'done.json'))
    os.remove(osp.join(cwd, 'iter_2.pth'))
    with open(osp.join(cwd, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(cwd, 'iter_1.pth'))
    before = sorted(os.listdir(osp.join(table_dir, 'deeplabv3_r18_camvid')))
    proc = run_tool(['tools/reproduce.py', TABLE, '--dry-run', '--work-dir',
                     dry_run['work_dir'], '--poll', '0.2'], timeout=600)
    assert_ok(proc)
    for job in JOBS:
        if job != 'cwd_deeplabv3_r101_r18_camvid':
            assert f'[skip] {job}: finished' in proc.stdout
    assert 'resuming cwd_deeplabv3_r101_r18_camvid' in proc.stdout
    # nothing new in a skipped run
    assert sorted(os.listdir(osp.join(table_dir,
                                      'deeplabv3_r18_camvid'))) == before
    with open(osp.join(cwd, 'reproduce.log')) as f:
        log = f.read()
    second = log[log.rindex('$ '):]  # the resumed run's command and output
    assert '--resume' in second.splitlines()[0]
    assert train_iters_logged(second) == [2]
    assert osp.isfile(osp.join(cwd, 'done.json'))


def test_concurrent_runs_never_share_a_rendezvous_port():
    from mmtat.tools.reproduce import Job, rendezvous_port

    def job(name, port):
        j = Job(dict(Name=name, Config='tat/deeplabv3_r101_r18_voc.py',
                     Metadata={}), '/tmp/table')
        j.port = port
        return j

    assert rendezvous_port([], 29500) == 29500
    # the run on 29500 finished while the one on 29501 still runs: the
    # next one takes 29500, not 29501
    assert rendezvous_port([job('b', 29501)], 29500) == 29500
    assert rendezvous_port([job('a', 29500), job('b', 29501)],
                           29500) == 29502


@pytest.mark.parametrize('table', sorted(NEW_TABLES))
def test_dry_run_of_the_new_tables(table, tmp_path):
    """What ``tools/reproduce.py TABLE --dry-run`` runs for the new tables:
    their jobs (teachers all released: none to train first) and, for the
    table's TaT run, the two-iteration CPU config on generated data of the
    table's layout, offline."""
    from mmengine.config import Config

    from mmtat.tools.reproduce import Job, dry_run_config, load_tables
    from mmtat.utils import find_remote_files
    from mmtat.utils.dry_run import dataset_type
    dataset, count = NEW_TABLES[table]
    models = load_tables()[table]
    assert len(models) == count
    assert not any(m['In Collection'] == 'Teacher' for m in models)
    for model in models:  # a released teacher, or none (a student alone)
        teacher = model['Metadata'].get('Teacher', {})
        assert teacher.get('Weights', 'https://').startswith('https://')
    tat = [m for m in models if m['In Collection'] == 'TaT']
    assert tat
    job = Job(tat[0], str(tmp_path / table))
    cfg = Config.fromfile(dry_run_config(job, str(tmp_path / 'data')))
    assert dataset_type(cfg) == dataset
    assert cfg.train_cfg.max_iters == 2 and cfg.launcher == 'none'
    assert cfg.work_dir == job.work_dir
    data_root = cfg.val_dataloader.dataset.data_root
    assert data_root.startswith(str(tmp_path / 'data'))
    assert osp.isfile(osp.join(data_root, '.mmtat_synthetic.json'))
    assert find_remote_files(cfg, 'train') == []
    assert 'SyncBN' not in str(cfg.model.to_dict())
