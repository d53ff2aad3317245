"""A two-process DDP run (torchrun, gloo, CPU) of the TaT VOC config."""
import os.path as osp

from tool_utils import (
    TAT_VOC,
    assert_ok,
    bn_options,
    free_port,
    load_checkpoint,
    read_scalars,
    run_tool,
    smoke_options,
    train_iters_logged,
)

import mmtat  # noqa: F401  (weights-only loading of mmengine checkpoints)


def test_tat_voc_ddp_two_processes_on_cpu(synthetic_data, tmp_path):
    work_dir = str(tmp_path)
    opts = smoke_options('voc', synthetic_data['voc'], max_iters=2)
    # gloo instead of NCCL, and BN instead of SyncBN: both need GPUs
    opts += ['env_cfg.dist_cfg.backend=gloo'] + bn_options()
    proc = run_tool([
        '-m', 'torch.distributed.run', '--nproc_per_node', '2',
        '--master_addr', '127.0.0.1', '--master_port', str(free_port()),
        'tools/train.py', TAT_VOC, '--launcher', 'pytorch', '--work-dir',
        work_dir, '--cfg-options'
    ] + opts)
    assert_ok(proc)
    assert 'Distributed training: True' in proc.stdout
    # mmengine reports the world size as its "GPU number"
    assert 'GPU number: 2' in proc.stdout
    assert train_iters_logged(proc.stdout) == [1, 2]
    rows = read_scalars(work_dir)
    assert [r['iter'] for r in rows if 'loss' in r] == [1, 2]
    assert all(r['distill.loss_tat_bottleneck'] > 0 for r in rows
               if 'loss' in r)
    val = [r for r in rows if 'mIoU' in r]
    assert len(val) == 1 and 'teacher.mIoU' in val[0]
    ckpt = load_checkpoint(osp.join(work_dir, 'iter_2.pth'))
    assert ckpt['meta']['iter'] == 2
    # saved from the unwrapped algorithm (no DDP "module." prefix)
    assert {k.split('.', 1)[0] for k in ckpt['state_dict']} == {
        'architecture', 'teacher', 'distiller'
    }
