"""tools/reproduce.py: a whole results table as one command, rehearsed with
--dry-run on the CPU (the CamVid table, whose teacher is trained first and
handed to its distillation runs: TaT and the student alone with ``--only``,
which adds the teacher), then skipped when finished and resumed when
interrupted.  That every distillation config of the table is handed the
teacher is checked on the plan (no training)."""
import json
import os
import os.path as osp

import pytest
from tool_utils import assert_ok, run_tool, train_iters_logged

TABLE = 'camvid'
TEACHER = 'deeplabv3_r101_camvid'
TAT = 'tat_deeplabv3_r101_r18_camvid'
STUDENT = 'deeplabv3_r18_camvid'
DISTILLED = (TAT, 'kd_deeplabv3_r101_r18_camvid',
             'cwd_deeplabv3_r101_r18_camvid', 'dist_deeplabv3_r101_r18_camvid')
#: what the rehearsal runs: --only TAT STUDENT, and the teacher TaT loads
ONLY = (TAT, STUDENT)
JOBS = (TEACHER, TAT, STUDENT)
#: tables added after CamVid: their dry-run plan is checked here; each one's
#: TaT config trains two iterations in tests/test_configs/test_config_zoo.py
#: and every config of them takes a training step in test_config_steps.py
NEW_TABLES = {
    'ade20k': ('ADE20KDataset', 5),
    'ade20k_segformer': ('ADE20KDataset', 5),
    'voc_ablation': ('PascalVOCDataset', 8),
    # the release's recipe: MMSegmentation's released teacher
    'voc_release': ('PascalVOCDataset', 2),
    # the MobileNetV2 student (MMSegmentation's released teachers)
    'voc_mobilenetv2': ('PascalVOCDataset', 5),
    'voc_mobilenetv2_release': ('PascalVOCDataset', 2),
    'voc_mobilenetv2_release_val513': ('PascalVOCDataset', 2),
    'cityscapes_mobilenetv2': ('CityscapesDataset', 5),
    'ade20k_mobilenetv2': ('ADE20KDataset', 5),
}
#: new tables whose teacher the table trains first (the DeepLabV3+ R101 on
#: COCO-Stuff10k): dataset, configs, the teacher's name
NEW_TABLES_WITH_TEACHER = {
    'cocostuff10k_mobilenetv2': ('COCOStuffDataset', 6),
    'cocostuff10k_mobilenetv2_release': ('COCOStuffDataset', 3),
    'cocostuff10k_mobilenetv2_release_val513': ('COCOStuffDataset', 3),
}
COCO_TEACHER = 'deeplabv3plus_r101_cocostuff10k'


@pytest.fixture(scope='module')
def dry_run(module_tmp_path):
    work_dir = str(module_tmp_path('reproduce'))
    proc = run_tool(['tools/reproduce.py', TABLE, '--dry-run', '--work-dir',
                     work_dir, '--poll', '0.2', '--concurrent', '2',
                     '--only', *ONLY], timeout=1200)
    return dict(proc=proc, work_dir=work_dir,
                table_dir=osp.join(work_dir, TABLE))


def test_list_names_every_table_and_its_configs():
    proc = run_tool(['tools/reproduce.py', '--list'])
    assert_ok(proc)
    for table in ('voc', 'cocostuff10k', 'voc_deeplabv3plus',
                  'cocostuff10k_deeplabv3plus', 'cityscapes',
                  'cityscapes_segformer', 'camvid') + tuple(NEW_TABLES) + \
            tuple(NEW_TABLES_WITH_TEACHER):
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


def test_plan_hands_the_trained_teacher_to_every_distillation(tmp_path):
    from mmtat.tools.reproduce import load_tables, plan, select
    jobs = plan(load_tables()[TABLE], str(tmp_path))
    names = [job.name for job in jobs]
    assert sorted(names) == sorted(DISTILLED + (TEACHER, STUDENT))
    assert names[0] == TEACHER  # trained first
    by_name = {job.name: job for job in jobs}
    for name in DISTILLED:
        assert by_name[name].depends_on is by_name[TEACHER], name
    assert by_name[STUDENT].depends_on is None
    assert by_name[TEACHER].depends_on is None
    # --only adds the teacher that a run loads, in run order
    assert [j.name for j in select(jobs, list(ONLY), TABLE)] == list(JOBS)
    assert [j.name for j in select(jobs, [STUDENT], TABLE)] == [STUDENT]


def test_only_names_an_unknown_config_with_close_matches(tmp_path):
    from mmtat.tools.reproduce import main
    with pytest.raises(SystemExit) as exc:
        main([TABLE, '--only', 'tat_deeplabv3_r101_r18_camvd', '--work-dir',
              str(tmp_path)])
    message = str(exc.value.code)
    assert message.startswith("ERROR: --only tat_deeplabv3_r101_r18_camvd: "
                              "not a config of table 'camvid'")
    assert f'Did you mean: {TAT}, ' in message  # the closest first
    assert os.listdir(tmp_path) == []


def test_dry_run_trains_the_table_in_order_and_collects(dry_run):
    assert_ok(dry_run['proc'])
    out = dry_run['proc'].stdout
    assert f'{TABLE}: 3 runs in ' in out and '(--only: 3 of 6)' in out
    # the teacher trained first runs first
    assert out.index(f'starting {TEACHER}') < min(
        out.index(f'starting {job}') for job in JOBS[1:])
    # nothing else of the table ran
    assert sorted(os.listdir(dry_run['table_dir'])) == sorted(
        JOBS + ('accuracy.json', 'accuracy.md', 'accuracy.png'))
    for job in JOBS:
        with open(osp.join(dry_run['table_dir'], job, 'done.json')) as f:
            done = json.load(f)
        assert done['checkpoint'].endswith('iter_2.pth')
        assert osp.isfile(done['checkpoint'])
    with open(osp.join(dry_run['table_dir'], 'accuracy.json')) as f:
        rows = {osp.basename(r['work_dir']): r
                for r in json.load(f)['results']}
    assert set(rows) == set(JOBS)
    assert rows[TAT]['method'] == 'TaT'
    assert rows[TEACHER]['method'] == 'DeepLabV3 R101 alone'
    assert rows[STUDENT].get('teacher_mIoU') is None
    # the distillation run loaded the teacher the table trained: its
    # teacher validates exactly as that teacher did
    teacher = rows[TEACHER]['student_mIoU']
    assert rows[TAT]['teacher_mIoU'] == pytest.approx(teacher)
    with open(osp.join(dry_run['table_dir'], TAT, 'reproduce.log')) as f:
        assert 'model.teacher_ckpt=' + osp.join(
            dry_run['table_dir'], TEACHER, 'iter_2.pth') in f.read()
    assert osp.isfile(osp.join(dry_run['table_dir'], 'accuracy.png'))


def test_finished_runs_are_skipped_and_interrupted_ones_resume(dry_run):
    assert_ok(dry_run['proc'])
    table_dir = dry_run['table_dir']
    # TaT "was killed" after its first iteration: no done.json, its last
    # complete checkpoint is iter_1.pth
    tat = osp.join(table_dir, TAT)
    os.remove(osp.join(tat, 'done.json'))
    os.remove(osp.join(tat, 'iter_2.pth'))
    with open(osp.join(tat, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(tat, 'iter_1.pth'))
    before = sorted(os.listdir(osp.join(table_dir, STUDENT)))
    proc = run_tool(['tools/reproduce.py', TABLE, '--dry-run', '--work-dir',
                     dry_run['work_dir'], '--poll', '0.2', '--only', *ONLY],
                    timeout=600)
    assert_ok(proc)
    for job in (TEACHER, STUDENT):
        assert f'[skip] {job}: finished' in proc.stdout
    assert f'resuming {TAT}' in proc.stdout
    # nothing new in a skipped run
    assert sorted(os.listdir(osp.join(table_dir, STUDENT))) == before
    with open(osp.join(tat, 'reproduce.log')) as f:
        log = f.read()
    second = log[log.rindex('$ '):]  # the resumed run's command and output
    assert '--resume' in second.splitlines()[0]
    assert train_iters_logged(second) == [2]
    assert osp.isfile(osp.join(tat, 'done.json'))


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

    from mmtat.checks import find_remote_files
    from mmtat.checks.dry_run import dataset_type
    from mmtat.tools.reproduce import Job, dry_run_config, load_tables
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


@pytest.mark.parametrize('table', sorted(NEW_TABLES_WITH_TEACHER))
def test_dry_run_of_the_new_tables_with_a_teacher_trained_first(
        table, tmp_path):
    """``tools/reproduce.py TABLE --dry-run`` for the MobileNetV2
    COCO-Stuff10k tables: the DeepLabV3+ R101 teacher trains first and is
    handed to every distillation; the TaT run's two-iteration CPU config is
    offline, on generated data of the table's layout."""
    from mmengine.config import Config

    from mmtat.checks import find_remote_files
    from mmtat.checks.dry_run import dataset_type
    from mmtat.checks.results import _network_name
    from mmtat.tools.reproduce import dry_run_config, load_tables, plan
    dataset, count = NEW_TABLES_WITH_TEACHER[table]
    jobs = plan(load_tables()[table], str(tmp_path / table))
    assert len(jobs) == count
    assert jobs[0].name == COCO_TEACHER and jobs[0].is_teacher
    for job in jobs[1:]:
        distills = not job.name.startswith('deeplabv3plus_mobilenetv2_')
        assert (job.depends_on is jobs[0]) == distills, job.name
    (tat, ) = [job for job in jobs if job.name.startswith('tat_')]
    # the accuracy table names the student alone by its network
    (student, ) = [job for job in jobs
                   if job.name.startswith('deeplabv3plus_mobilenetv2_')]
    assert _network_name(Config.fromfile(student.config).model) == \
        'DeepLabV3+ MobileNetV2'
    cfg = Config.fromfile(dry_run_config(tat, str(tmp_path / 'data')))
    assert dataset_type(cfg) == dataset
    assert cfg.train_cfg.max_iters == 2 and cfg.launcher == 'none'
    assert find_remote_files(cfg, 'train') == []
    assert 'SyncBN' not in str(cfg.model.to_dict())


#: the ImageNet-1k tables: the runs each rehearsal trains (TaT, a baseline
#: and the student alone; the teachers are MMPretrain's released ones,
#: none is trained first), and the number of configs of the table
CLASSIFICATION_TABLES = {
    'imagenet': (('tat_resnet34_resnet18_in1k', 'kd_resnet34_resnet18_in1k',
                  'resnet18_in1k'), 13),
    'imagenet_mobilenetv2': (('tat_resnet50_mobilenetv2_in1k',
                              'mobilenetv2_in1k'), 4),
}


@pytest.fixture(scope='module', params=sorted(CLASSIFICATION_TABLES))
def classification_dry_run(request, module_tmp_path):
    table = request.param
    work_dir = str(module_tmp_path(f'reproduce_{table}'))
    runs, _ = CLASSIFICATION_TABLES[table]
    proc = run_tool(['tools/reproduce.py', table, '--dry-run', '--work-dir',
                     work_dir, '--poll', '0.2', '--concurrent', '2',
                     '--only', *runs], timeout=1200)
    return dict(table=table, proc=proc, work_dir=work_dir,
                table_dir=osp.join(work_dir, table))


def test_classification_dry_run_collects_top1_and_top5(
        classification_dry_run):
    """``tools/reproduce.py imagenet --dry-run``: the ImageNet configs train
    two iterations on a generated ImageNet (MMPretrain's annotation-file
    layout), and the table reports the teacher's and the student's top-1
    and top-5."""
    table = classification_dry_run['table']
    runs, count = CLASSIFICATION_TABLES[table]
    assert_ok(classification_dry_run['proc'])
    out = classification_dry_run['proc'].stdout
    assert f'(--only: {len(runs)} of {count})' in out
    table_dir = classification_dry_run['table_dir']
    with open(osp.join(table_dir, 'accuracy.json')) as f:
        rows = {osp.basename(r['work_dir']): r
                for r in json.load(f)['results']}
    assert set(rows) == set(runs)
    tat, student = rows[runs[0]], rows[runs[-1]]
    assert tat['method'] == 'TaT'
    assert student['method'] in ('ResNet-18 alone', 'MobileNetV2 alone')
    for name, row in rows.items():
        assert (row['task'], row['metric']) == ('classification', 'top-1')
        assert row['dataset'] == 'ImageNet' and row['iterations'] == 2
        assert 0 <= row['student_top1'] <= row['student_top5'] <= 100, name
        assert [p['iteration'] for p in row['curve']] == [2]
        assert 'student_mIoU' not in row
    assert student['teacher_top1'] is None
    assert 0 <= tat['teacher_top1'] <= tat['teacher_top5'] <= 100
    with open(osp.join(table_dir, 'accuracy.md')) as f:
        markdown = f.read()
    assert markdown.startswith(
        '| method | dataset | teacher top-1 | teacher top-5 | student top-1 '
        '| student top-5 | iterations |')
    assert f'| {runs[0]} |' in markdown
    # the generated data is MMPretrain's ImageNet layout
    data = osp.join(classification_dry_run['work_dir'], 'dry_run_data',
                    'imagenet')
    assert sorted(os.listdir(osp.join(data, 'meta'))) == ['train.txt',
                                                          'val.txt']


@pytest.mark.parametrize('table', sorted(CLASSIFICATION_TABLES))
def test_every_classification_config_has_a_dry_run(table, tmp_path):
    """Every config of the ImageNet tables shrinks to an offline
    two-iteration CPU run (the rehearsal above trains some of them; each
    takes a training step in tests/test_configs)."""
    from mmengine.config import Config

    from mmtat.checks import find_remote_files
    from mmtat.checks.dry_run import dataset_type
    from mmtat.tools.reproduce import dry_run_config, load_tables, plan
    jobs = plan(load_tables()[table], str(tmp_path / table))
    assert len(jobs) == CLASSIFICATION_TABLES[table][1]
    assert not any(job.is_teacher or job.depends_on for job in jobs)
    for job in jobs:
        cfg = Config.fromfile(dry_run_config(job, str(tmp_path / 'data')))
        assert dataset_type(cfg) == 'ImageNet', job.name
        assert cfg.train_cfg == dict(type='IterBasedTrainLoop', max_iters=2,
                                     val_interval=2)
        assert all(not s.get('by_epoch') for s in cfg.param_scheduler)
        assert find_remote_files(cfg, 'train') == [], job.name
        crops = [t.scale for t in cfg.train_dataloader.dataset.pipeline
                 if t.type == 'RandomResizedCrop']
        assert crops == [128], job.name
        if 'distiller' in cfg.model:
            assert cfg.model.distiller.get('input_size', (128, 128)) == (
                128, 128)
