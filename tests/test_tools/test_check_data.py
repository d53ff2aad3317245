"""tools/misc/check_data.py on a generated VOC dataset with broken
samples, and what training and testing say when they reach one (the
tools in this process, through ``main(argv)``)."""
import json
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image
from tool_utils import BASELINE_VOC, in_process_options, smoke_options

from mmtat.engine import uninstall_termination_handler
from mmtat.tools import check_data, test, train


def _data_options(data_root):
    return [o for o in smoke_options('voc', data_root, distill=False)
            if '.data_root=' in o]


def _samples(data_root, split):
    with open(osp.join(data_root, 'ImageSets', 'Segmentation',
                       f'{split}.txt')) as f:
        return [line.strip() for line in f if line.strip()]


def _label_files(data_root, name):
    return [osp.join(data_root, folder, f'{name}.png')
            for folder in ('SegmentationClass', 'SegmentationClassAug')]


def _set_label(path, change):
    image = Image.open(path)
    out = change(image)
    if image.mode == 'P':
        out.putpalette(image.getpalette())
    out.save(path)


def _value_40(image):
    values = np.array(image)
    values[:2, :2] = 40
    return Image.fromarray(values, image.mode)


def _narrower(image):
    return image.resize((image.width - 8, image.height), Image.NEAREST)


def _truncate(path):
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])


@pytest.fixture
def voc(synthetic_data, tmp_path):
    """A copy of the generated VOC-aug dataset to break."""
    root = str(tmp_path / 'voc')
    shutil.copytree(synthetic_data['voc'], root)
    return root


def test_check_data_lists_each_problem_and_counts_them(voc, tmp_path,
                                                       capsys):
    check_data.main([BASELINE_VOC, '--nproc', '2', '--cfg-options'] +
                    _data_options(voc))
    out = capsys.readouterr().out
    assert 'Data check of configs/baselines/deeplabv3_r18_voc.py: 3 ' \
        'dataset(s), 10 samples.' in out
    assert out.rstrip().endswith('Summary: no problems in 10 samples.')

    first, second, third = _samples(voc, 'train')[:3]
    _set_label(_label_files(voc, first)[0], _value_40)
    _set_label(_label_files(voc, second)[1], _narrower)
    _truncate(osp.join(voc, 'JPEGImages', f'{third}.jpg'))
    report = str(tmp_path / 'report.json')
    with pytest.raises(SystemExit) as exc:
        check_data.main([BASELINE_VOC, '--nproc', '2', '--out', report,
                         '--cfg-options'] + _data_options(voc))
    assert exc.value.code == (
        'ERROR: the data check of configs/baselines/deeplabv3_r18_voc.py '
        f'found 3 problem(s) (listed above and in {report}); fix or remove '
        'those files (or their lines in the split files) before training.')
    out = capsys.readouterr().out
    label = _label_files(voc, first)[0]
    assert f'[label_values] {label} holds label values 40 (4 pixels), ' \
        'which are neither one of the 21 classes 0-20 nor the ignore ' \
        'index 255' in out
    assert f'[size_mismatch] {_label_files(voc, second)[1]} is 96x88 ' \
        '(height x width)' in out
    image = osp.join(voc, 'JPEGImages', f'{third}.jpg')
    assert f'[truncated] {image} is truncated: a JPEG file of' in out
    # the image is in both training sets: one problem
    assert 'Summary: 3 problem(s) in 3 file(s): 1 file truncated ' \
        '(truncated), 1 label size differs from its image (size_mismatch), ' \
        '1 label values outside the classes (label_values).' in out
    with open(report) as f:
        saved = json.load(f)
    assert saved['summary'] == dict(truncated=1, size_mismatch=1,
                                    label_values=1)
    assert saved['samples'] == 10
    [values] = [p['values'] for d in saved['datasets'] for p in d['problems']
                if p['kind'] == 'label_values']
    assert values == {'40': 4}


@pytest.fixture
def in_process_train():
    yield train.main
    uninstall_termination_handler()  # train.main installs it


def _break_all(voc, case):
    for name in _samples(voc, 'train'):
        if case == 'truncated':
            _truncate(osp.join(voc, 'JPEGImages', f'{name}.jpg'))
            continue
        for label in _label_files(voc, name):
            _set_label(label, _value_40 if case == 'label' else _narrower)


@pytest.mark.parametrize('case', ['label', 'size', 'truncated'])
def test_training_stops_at_a_broken_sample_naming_it(voc, in_process_train,
                                                     tmp_path, case):
    """Before: IndexError: Target 40 is out of bounds, a collate error and
    AssertionError: failed to load image, as tracebacks."""
    _break_all(voc, case)
    opts = smoke_options('voc', voc, distill=False, max_iters=2)
    # one data loader worker: the error crosses a process boundary
    opts += ['train_dataloader.num_workers=1'] + in_process_options(tmp_path)
    with pytest.raises(SystemExit) as exc:
        in_process_train([BASELINE_VOC, '--work-dir', str(tmp_path / 'w'),
                          '--cfg-options'] + opts)
    message = exc.value.code
    assert message.startswith(
        f"ERROR: Training data (PascalVOCDataset, data_root='{voc}'): ")
    expected = {
        'label': 'holds label values 40 (4 pixels), which are neither one '
        'of the 21 classes 0-20 nor the ignore index 255',
        'size': 'is 96x88 (height x width), its image',
        'truncated': 'cannot be loaded (AssertionError: failed to load '
        'image: '
    }[case]
    assert expected in message
    assert 'check the whole dataset with python tools/misc/check_data.py ' \
        'configs/baselines/deeplabv3_r18_voc.py --cfg-options ... (those ' \
        'of this run)' in message
    assert '\n' not in message and 'Traceback' not in message


def test_testing_stops_at_a_broken_label(voc, tmp_path):
    from mmseg.registry import MODELS
    cfg = Config.fromfile(BASELINE_VOC)
    model = MODELS.build(cfg.model)
    ckpt = str(tmp_path / 'model.pth')
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, ckpt)
    for name in _samples(voc, 'val'):
        _set_label(_label_files(voc, name)[0], _value_40)
    opts = [o for o in smoke_options('voc', voc, distill=False)
            if o.startswith('test_dataloader.')] + in_process_options(tmp_path)
    with pytest.raises(SystemExit) as exc:
        test.main([BASELINE_VOC, ckpt, '--work-dir', str(tmp_path / 'w'),
                   '--cfg-options'] + opts)
    assert exc.value.code.startswith(
        f"ERROR: Test data (PascalVOCDataset, data_root='{voc}'): ")
    assert 'holds label values 40 (4 pixels)' in exc.value.code
