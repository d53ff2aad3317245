"""tools/train.py on the shipped configs: training, teacher + student
validation, checkpoints and ``--resume`` (CPU, generated data, no download).
"""
import os.path as osp

import pytest
import torch
from tool_utils import (
    TAT_COCO,
    TAT_VOC,
    assert_ok,
    in_process_options,
    load_checkpoint,
    read_scalars,
    run_tool,
    smoke_options,
    train_iters_logged,
)

LOSS_TERMS = ('student.decode.loss_ce', 'student.aux.loss_ce',
              'distill.loss_tat_bottleneck')


def check_distill_run(proc, work_dir: str, max_iters: int) -> None:
    """Trained ``max_iters`` iterations with the TaT loss in the total loss,
    validated student and teacher, and wrote the last checkpoint."""
    assert_ok(proc)
    assert train_iters_logged(proc.stdout) == list(range(1, max_iters + 1))
    scalars = read_scalars(work_dir)
    train_rows = [r for r in scalars if 'loss' in r]
    assert [r['iter'] for r in train_rows] == list(range(1, max_iters + 1))
    for row in train_rows:
        # the TaT term is a loss of the algorithm, summed into the total
        assert row['distill.loss_tat_bottleneck'] > 0
        assert row['loss'] == pytest.approx(
            sum(row[k] for k in LOSS_TERMS), rel=1e-4)
    val_rows = [r for r in scalars if 'mIoU' in r]
    assert len(val_rows) == 1 and val_rows[0]['step'] == max_iters
    for key in ('mIoU', 'teacher.mIoU'):
        assert 0 <= val_rows[0][key] <= 100, val_rows[0]
    # both are printed in the validation summary line
    assert 'teacher.mIoU:' in proc.stdout and ' mIoU:' in proc.stdout
    # and the teacher's next to its published figure (none: random weights)
    assert (f"Teacher: validation mIoU {val_rows[0]['teacher.mIoU']:.2f} "
            '(the metafiles state no published mIoU for its weights).'
            ) in proc.stdout

    ckpt_path = osp.join(work_dir, f'iter_{max_iters}.pth')
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert osp.abspath(f.read().strip()) == osp.abspath(ckpt_path)
    ckpt = load_checkpoint(ckpt_path)
    assert ckpt['meta']['iter'] == max_iters
    prefixes = {k.split('.', 1)[0] for k in ckpt['state_dict']}
    assert prefixes == {'architecture', 'teacher', 'distiller'}
    assert any(
        k.startswith('distiller.distill_losses.loss_tat_bottleneck.query_embed.')
        for k in ckpt['state_dict'])


def test_tat_voc_trains_validates_and_checkpoints(voc_tat_run):
    check_distill_run(voc_tat_run['proc'], voc_tat_run['work_dir'], 2)


def test_tat_voc_resume_continues_at_next_iteration(voc_tat_run, tmp_path):
    assert_ok(voc_tat_run['proc'])
    src = osp.join(voc_tat_run['work_dir'], 'iter_2.pth')
    work_dir = str(tmp_path)
    opts = smoke_options('voc', voc_tat_run['data_root'], max_iters=3)
    # no validation in this short continuation
    opts.append('+train_cfg.val_begin=1000')
    proc = run_tool(['tools/train.py', TAT_VOC, '--work-dir', work_dir,
                     '--resume', src, '--cfg-options'] + opts)
    assert_ok(proc)
    assert 'resumed epoch: 0, iter: 2' in proc.stdout
    # the resumed run trains iteration 3 only
    assert train_iters_logged(proc.stdout) == [3]

    before = load_checkpoint(src)
    after = load_checkpoint(osp.join(work_dir, 'iter_3.pth'))
    assert after['meta']['iter'] == 3
    # the learning-rate schedule continued instead of restarting at 0.01
    lr_2 = [r['lr'] for r in read_scalars(voc_tat_run['work_dir'])
            if r.get('iter') == 2][0]
    lr_3 = [r['lr'] for r in read_scalars(work_dir) if r.get('iter') == 3][0]
    assert lr_3 < lr_2 < 0.01
    # iteration 3 updated the student and TaT's embeddings (trained by the
    # algorithm's optimiser), not the frozen teacher
    sd0, sd1 = before['state_dict'], after['state_dict']
    assert sd0.keys() == sd1.keys()

    def changed(prefix):
        return [
            k for k in sd0 if k.startswith(prefix) and k.endswith('weight')
            and not torch.equal(sd0[k], sd1[k])
        ]

    assert not changed('teacher.')
    assert changed('architecture.backbone.')
    assert ('distiller.distill_losses.loss_tat_bottleneck.query_embed.0.'
            'weight') in changed('distiller.')


def test_tat_cocostuff10k_trains_and_validates(synthetic_data, tmp_path):
    work_dir = str(tmp_path)
    proc = run_tool(['tools/train.py', TAT_COCO, '--work-dir', work_dir,
                     '--cfg-options'] +
                    smoke_options('coco', synthetic_data['coco']))
    check_distill_run(proc, work_dir, 2)
    ckpt = load_checkpoint(osp.join(work_dir, 'iter_2.pth'))
    assert len(ckpt['meta']['dataset_meta']['classes']) == 171
    sd = ckpt['state_dict']
    assert sd['architecture.decode_head.conv_seg.weight'].shape[:2] == (171,
                                                                        128)
    assert sd['teacher.decode_head.conv_seg.weight'].shape[:2] == (171, 512)


def test_baseline_voc_trains_and_validates(voc_baseline_run):
    proc, work_dir = voc_baseline_run['proc'], voc_baseline_run['work_dir']
    assert_ok(proc)
    assert train_iters_logged(proc.stdout) == [1, 2]
    val_rows = [r for r in read_scalars(work_dir) if 'mIoU' in r]
    assert len(val_rows) == 1 and 'teacher.mIoU' not in val_rows[0]
    ckpt = load_checkpoint(osp.join(work_dir, 'iter_2.pth'))
    # a plain MMSegmentation model: no algorithm prefixes
    assert {k.split('.', 1)[0] for k in ckpt['state_dict']} == {
        'backbone', 'decode_head', 'auxiliary_head'
    }


CWD_VOC = 'configs/baselines/cwd_deeplabv3_r101_r18_voc.py'


@pytest.fixture
def in_process_train():
    from mmtat.engine import uninstall_termination_handler
    from mmtat.tools import train
    yield train.main
    uninstall_termination_handler()  # train.main installs it


def test_resume_with_another_config_is_refused(voc_tat_run, in_process_train,
                                               tmp_path):
    """The TaT run's checkpoint resumed with the CWD config: before, the
    optimizer's load_state_dict failed with a traceback."""
    assert_ok(voc_tat_run['proc'])
    ckpt = osp.join(voc_tat_run['work_dir'], 'iter_2.pth')
    work_dir = tmp_path / 'cwd'
    with pytest.raises(SystemExit) as exc:
        in_process_train([CWD_VOC, '--work-dir', str(work_dir), '--resume',
                          ckpt, '--cfg-options'] +
                         smoke_options('voc', voc_tat_run['data_root'],
                                       max_iters=3) +
                         in_process_options(work_dir))
    message = exc.value.code
    assert message.startswith(
        f'ERROR: --resume: the checkpoint {ckpt} was written by a run of '
        'deeplabv3_r101_r18_voc, not for this config '
        f'({CWD_VOC}): ')
    assert 'tensors belong to no weight of this model (e.g. ' \
        'distiller.distill_losses.loss_tat_bottleneck.' in message
    assert 'its optimizer state has parameter groups of' in message
    assert '\n' not in message
    assert not work_dir.exists()  # the refused run's folder was removed
