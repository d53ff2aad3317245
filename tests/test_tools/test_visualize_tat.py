"""tools/analysis/visualize_tat.py: pictures of a TaT config with random
weights (offline) and with the checkpoint of a training run; wrong inputs
fail with one paragraph."""
import glob
import json
import os.path as osp

import pytest
from PIL import Image
from tool_utils import TAT_VOC, assert_ok, run_tool

SCRIPT = 'tools/analysis/visualize_tat.py'
SMALL = ['--cfg-options', 'model.data_preprocessor.size=(128,128)']


def _image(data_root):
    return sorted(glob.glob(osp.join(data_root, 'JPEGImages', '*.jpg')))[0]


def _check_pictures(out):
    with open(osp.join(out, 'pictures.json')) as f:
        summary = json.load(f)
    (pair, ) = summary['pairs'].values()
    assert pair['teacher_map'] == [512, 16, 16]
    assert pair['geometry']['patch_size'] == [8, 8]
    for name in pair['files']:
        with Image.open(osp.join(out, name)) as picture:
            assert picture.format == 'PNG'
    return summary


def test_random_weights_offline(synthetic_data, tmp_path):
    out = str(tmp_path / 'pictures')
    proc = run_tool([SCRIPT, TAT_VOC, 'none',
                     _image(synthetic_data['voc']), '--out', out,
                     '--positions', '0.5,0.5', '0.1,0.9'] + SMALL)
    assert_ok(proc)
    summary = _check_pictures(out)
    assert summary['checkpoint'] is None
    assert summary['positions'] == [[0.5, 0.5], [0.1, 0.9]]
    assert osp.join(out, 'bottleneck_attention.png') in proc.stdout


def test_checkpoint_of_a_training_run(voc_tat_run, tmp_path):
    assert_ok(voc_tat_run['proc'])
    checkpoint = osp.join(voc_tat_run['work_dir'], 'iter_2.pth')
    out = str(tmp_path / 'pictures')
    proc = run_tool([SCRIPT, TAT_VOC, checkpoint,
                     _image(voc_tat_run['data_root']), '--out', out] + SMALL)
    assert_ok(proc)
    assert _check_pictures(out)['checkpoint'] == checkpoint


def test_wrong_inputs_fail_clearly(voc_tat_run, tmp_path, capsys):
    from mmengine.runner.checkpoint import _load_checkpoint, save_checkpoint

    assert_ok(voc_tat_run['proc'])
    image = _image(voc_tat_run['data_root'])
    # a student alone (as convert_student.py writes it) has no teacher
    full = _load_checkpoint(osp.join(voc_tat_run['work_dir'], 'iter_2.pth'))
    student = {
        k[len('architecture.'):]: v
        for k, v in full['state_dict'].items()
        if k.startswith('architecture.')
    }
    plain = str(tmp_path / 'student.pth')
    save_checkpoint({'state_dict': student}, plain)
    proc = run_tool([SCRIPT, TAT_VOC, plain, image, '--out',
                     str(tmp_path / 'a')] + SMALL)
    assert proc.returncode == 1
    assert 'lacks' in proc.stdout and 'convert_student.py' in proc.stdout
    assert 'Traceback' not in proc.stdout

    # the other wrong inputs in this process (the console's one paragraph
    # without a traceback is the subprocess's above): SystemExit('ERROR: ..')
    # every weight present, one of another shape (another model's)
    key = next(k for k, v in full['state_dict'].items()
               if k.startswith('distiller.') and v.dim() == 4)
    other = dict(full['state_dict'])
    other[key] = other[key][:, :1].clone()
    reshaped = str(tmp_path / 'other.pth')
    save_checkpoint({'state_dict': other}, reshaped)
    message = _refused([TAT_VOC, reshaped, image, '--out',
                        str(tmp_path / 'd')] + SMALL)
    assert 'is of another model' in message and key in message

    message = _refused([TAT_VOC, 'none', str(tmp_path / 'no.jpg'), '--out',
                        str(tmp_path / 'b')] + SMALL)
    assert 'does not exist' in message

    message = _refused(['configs/baselines/deeplabv3_r18_voc.py', 'none',
                        image, '--out', str(tmp_path / 'c')])
    assert 'has no distiller' in message

    assert _refused([TAT_VOC, 'none', image, '--out', str(tmp_path / 'd'),
                     '--positions', '0.5']) == 2
    assert 'a position is Y,X' in capsys.readouterr().err


def _refused(argv):
    """The exit of ``visualize_tat.main(argv)`` run in this process: the
    ``ERROR: ...`` message of a refused input, or argparse's status."""
    from mmtat.tools.visualize_tat import main
    with pytest.raises(SystemExit) as exc:
        main(argv)
    code = exc.value.code
    if isinstance(code, str):
        assert code.startswith('ERROR: '), code
    return code
