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
def converted(voc_tat_run, tmp_path_factory):
    assert_ok(voc_tat_run['proc'])
    src = osp.join(voc_tat_run['work_dir'], 'iter_2.pth')
    dst = str(tmp_path_factory.mktemp('student') / 'sub' / 'student.pth')
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
