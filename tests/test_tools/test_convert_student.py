"""tools/convert_student.py: a TaT training checkpoint becomes a plain
MMSegmentation student checkpoint that MMSeg's API and tools/test.py use."""
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from tool_utils import (
    BASELINE_VOC,
    REPO,
    assert_ok,
    load_checkpoint,
    read_json_log,
    read_scalars,
    run_tool,
    smoke_options,
)

import mmtat  # noqa: F401  (weights-only loading of mmengine checkpoints)


def load_tool():
    # tools/convert_student.py is an entry point of this module
    from mmtat.tools import convert_student
    return convert_student


@pytest.fixture(scope='module')
def converted(voc_tat_run, module_tmp_path):
    assert_ok(voc_tat_run['proc'])
    src = osp.join(voc_tat_run['work_dir'], 'iter_2.pth')
    dst = str(module_tmp_path('student') / 'sub' / 'student.pth')
    proc = run_tool(['tools/convert_student.py', src, dst])
    return dict(proc=proc, src=src, dst=dst, run=voc_tat_run)


def test_converted_checkpoint_holds_the_student_only(converted):
    assert_ok(converted['proc'])
    src = load_checkpoint(converted['src'])
    dst = load_checkpoint(converted['dst'])
    assert set(dst) == {'meta', 'state_dict'}
    assert dst['meta'] == src['meta']
    expected = {
        k[len('architecture.'):]: v
        for k, v in src['state_dict'].items() if k.startswith('architecture.')
    }
    assert dst['state_dict'].keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(dst['state_dict'][key], value), key
    n_teacher = sum(k.startswith('teacher.') for k in src['state_dict'])
    n_distiller = sum(k.startswith('distiller.') for k in src['state_dict'])
    assert n_teacher and n_distiller
    assert (f'Saved {len(expected)} student tensors' in
            converted['proc'].stdout)
    assert f'{n_distiller} distiller.*' in converted['proc'].stdout
    assert f'{n_teacher} teacher.*' in converted['proc'].stdout


def test_converted_student_loads_and_predicts_in_mmseg(converted):
    from mmengine.registry import DefaultScope
    from mmseg.apis import inference_model, init_model
    cfg = Config.fromfile(osp.join(REPO, BASELINE_VOC))
    # init_model sets MMSeg's default scope for good; keep that from
    # leaking into the other tests of this process
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = init_model(cfg, converted['dst'], device='cpu')
    # every weight of the plain MMSeg model came from the checkpoint
    ckpt = load_checkpoint(converted['dst'])
    state = model.state_dict()
    assert state.keys() == ckpt['state_dict'].keys()
    for key, value in ckpt['state_dict'].items():
        assert torch.equal(state[key], value), key
    assert model.dataset_meta['classes'][0] == 'background'
    assert len(model.dataset_meta['classes']) == 21

    data_root = converted['run']['data_root']
    name = sorted(os.listdir(osp.join(data_root, 'JPEGImages')))[0]
    image = osp.join(data_root, 'JPEGImages', name)
    with DefaultScope.overwrite_default_scope('mmseg'):
        result = inference_model(model, image)
    pred = result.pred_sem_seg.data
    assert tuple(pred.shape) == (1, 96, 96)
    assert int(pred.min()) >= 0 and int(pred.max()) < 21
    logits = result.seg_logits.data
    assert logits.shape == (21, 96, 96)
    assert torch.equal(logits.argmax(0), pred[0])
    assert np.isfinite(logits.numpy()).all()


def test_tools_test_evaluates_converted_student(converted, tmp_path):
    """tools/test.py with the plain baseline config scores the converted
    student exactly as the distillation run validated its student."""
    run = converted['run']
    # the test split of the smoke run is its validation split
    opts = [
        o for o in smoke_options('voc', run['data_root'], distill=False)
        if o.startswith('test_dataloader.')
    ]
    proc = run_tool(['tools/test.py', BASELINE_VOC, converted['dst'],
                     '--work-dir', str(tmp_path), '--cfg-options'] + opts)
    assert_ok(proc)
    test_metrics = [r for r in read_json_log(str(tmp_path)) if 'mIoU' in r]
    val = [r for r in read_scalars(run['work_dir']) if 'mIoU' in r][-1]
    assert test_metrics, proc.stdout[-3000:]
    assert test_metrics[-1]['mIoU'] == pytest.approx(val['mIoU'], abs=0.01)
    assert test_metrics[-1]['aAcc'] == pytest.approx(val['aAcc'], abs=0.01)


def test_rejects_a_checkpoint_without_architecture_keys(converted, tmp_path):
    tool = load_tool()
    with pytest.raises(ValueError, match='no "architecture.\\*" weights'):
        tool.convert_student(converted['dst'], str(tmp_path / 'again.pth'))
    assert not (tmp_path / 'again.pth').exists()
    # the command line reports it as an error, without a traceback
    proc = run_tool(['tools/convert_student.py', converted['dst'],
                     str(tmp_path / 'again.pth')])
    assert proc.returncode != 0
    assert 'ERROR:' in proc.stdout and 'not the checkpoint' in proc.stdout
    assert 'Traceback' not in proc.stdout


def test_refuses_to_overwrite_the_source(converted):
    tool = load_tool()
    with pytest.raises(ValueError, match='must not overwrite'):
        tool.convert_student(converted['src'], converted['src'])


# --------------------------------------------------------------------------
# image classification: a TaT R34 -> R18 ImageNet run on generated data
# --------------------------------------------------------------------------
TAT_IN1K = 'configs/tat/resnet34_resnet18_in1k.py'
STUDENT_IN1K = 'configs/baselines/resnet18_in1k.py'


@pytest.fixture(scope='module')
def classification(module_tmp_path):
    """Two iterations of the TaT ImageNet config on a generated ImageNet
    (tools/train.py), converted with tools/convert_student.py."""
    from mmtat.checks.dry_run import make_dry_run_dataset, shrink_for_dry_run
    root = module_tmp_path('classification')
    cfg = Config.fromfile(osp.join(REPO, TAT_IN1K))
    data_root = make_dry_run_dataset(cfg, str(root / 'data'))
    work_dir = str(root / 'work')
    small = shrink_for_dry_run(cfg, data_root=data_root, work_dir=work_dir,
                               validate=False)
    config = str(root / 'tat_resnet34_resnet18_in1k_generated.py')
    small.dump(config)
    train = run_tool(['tools/train.py', config], timeout=900)
    assert_ok(train)
    src = osp.join(work_dir, 'iter_2.pth')
    dst = str(root / 'resnet18_student.pth')
    proc = run_tool(['tools/convert_student.py', src, dst])
    return dict(proc=proc, src=src, dst=dst, config=config,
                data_root=data_root, root=root)


def _test_batch(data_root):
    """The validation images through the student config's own test
    pipeline (ResizeEdge 256, CenterCrop 224), as one batch."""
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import DATASETS
    cfg = Config.fromfile(osp.join(REPO, STUDENT_IN1K))
    dataset_cfg = cfg.test_dataloader.dataset
    dataset_cfg.data_root = data_root
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        dataset = DATASETS.build(dataset_cfg)
        return pseudo_collate([dataset[i] for i in range(len(dataset))])


def _distilled_student_scores(classification, batch):
    """The predictions of the student inside the distillation model (its
    predict mode, its own data pre-processor) with the training
    checkpoint."""
    from mmengine.registry import DefaultScope
    from mmengine.runner import load_checkpoint
    from mmrazor.registry import MODELS
    cfg = Config.fromfile(classification['config'])
    with DefaultScope.overwrite_default_scope('mmrazor'):
        model = MODELS.build(cfg.model)
    load_checkpoint(model, classification['src'], map_location='cpu')
    model.eval()
    with torch.no_grad(), DefaultScope.overwrite_default_scope('mmrazor'):
        return torch.stack([s.pred_score for s in model.test_step(batch)])


def test_classification_student_loads_in_mmpretrain(classification):
    """mmpretrain.apis.init_model with the student's plain config takes
    every weight from the converted checkpoint and predicts as the student
    inside the distillation model did."""
    from mmengine.registry import DefaultScope
    from mmpretrain.apis import init_model
    assert_ok(classification['proc'])
    assert 'Saved 122 student tensors' in classification['proc'].stdout
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = init_model(osp.join(REPO, STUDENT_IN1K),
                           classification['dst'], device='cpu')
    ckpt = load_checkpoint(classification['dst'])
    src = load_checkpoint(classification['src'])
    assert model.state_dict().keys() == ckpt['state_dict'].keys()
    for key, value in ckpt['state_dict'].items():
        assert torch.equal(model.state_dict()[key], value), key
        assert torch.equal(src['state_dict'][f'architecture.{key}'], value)
    assert len(model._dataset_meta['classes']) == 1000

    batch = _test_batch(classification['data_root'])
    with torch.no_grad(), DefaultScope.overwrite_default_scope('mmpretrain'):
        plain = torch.stack([s.pred_score for s in model.test_step(batch)])
    distilled = _distilled_student_scores(classification, batch)
    assert plain.shape == (2, 1000)
    assert torch.allclose(plain, distilled, atol=1e-6)
    assert torch.equal(plain.argmax(1), distilled.argmax(1))


def test_mmpretrains_test_tool_and_ours_score_the_student(classification):
    """MMPretrain's own tools/test.py (a fresh interpreter) evaluates the
    converted student with its plain config and dumps the same predictions;
    mmtat's tools/test.py reports its top-1 and top-5."""
    import pickle

    import mmpretrain
    assert_ok(classification['proc'])
    root, data_root = classification['root'], classification['data_root']
    options = ['--cfg-options', f'test_dataloader.dataset.data_root='
               f'{data_root}', 'test_dataloader.num_workers=0']
    out = str(root / 'mmpretrain_predictions.pkl')
    tool = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'tools',
                    'test.py')
    proc = run_tool([tool, STUDENT_IN1K, classification['dst'],
                     '--work-dir', str(root / 'mmpretrain_test'), '--out',
                     out] + options, fresh=True)
    assert_ok(proc)
    assert 'accuracy/top1:' in proc.stdout
    with open(out, 'rb') as f:
        dumped = pickle.load(f)
    scores = torch.stack([torch.as_tensor(s['pred_score']) for s in dumped])
    distilled = _distilled_student_scores(
        classification, _test_batch(data_root))
    assert torch.allclose(scores, distilled, atol=1e-5)

    ours = run_tool(['tools/test.py', STUDENT_IN1K, classification['dst'],
                     '--work-dir', str(root / 'mmtat_test'), '--out',
                     str(root / 'mmtat_predictions.pkl')] + options)
    assert_ok(ours)
    [metrics] = [r for r in read_json_log(str(root / 'mmtat_test'))
                 if 'accuracy/top1' in r]
    assert (f'Test of {STUDENT_IN1K} with {classification["dst"]}: '
            f'top-1 {metrics["accuracy/top1"]:.2f}, top-5 '
            f'{metrics["accuracy/top5"]:.2f}.') in ours.stdout
    with open(root / 'mmtat_predictions.pkl', 'rb') as f:
        assert len(pickle.load(f)) == 2
