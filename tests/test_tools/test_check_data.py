"""tools/misc/check_data.py on a generated VOC dataset with broken
samples, and what training and testing say when they reach one (the
tools in this process, through ``main(argv)``)."""
import json
import os
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


# --------------------------------------------------------------------------
# image classification: MMPretrain's ImageNet config on generated data
# --------------------------------------------------------------------------
def _mmpretrain_resnet18():
    import mmpretrain
    return osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'configs',
                    'resnet', 'resnet18_8xb32_in1k.py')


@pytest.fixture
def imagenet(tmp_path):
    """A generated ImageNet whose meta/train.txt labels its second image
    1000 and names a missing third one; its fourth image is truncated."""
    from mmtat.datasets import make_synthetic_imagenet
    root = make_synthetic_imagenet(str(tmp_path / 'data'), num_train=6,
                                   num_val=2, image_size=40)
    ann = osp.join(root, 'meta', 'train.txt')
    with open(ann) as f:
        lines = f.read().splitlines()
    images = [osp.join(root, 'train', line.split()[0]) for line in lines]
    lines[1] = lines[1].rsplit(' ', 1)[0] + ' 1000'
    os.remove(images[2])
    _truncate(images[3])
    with open(ann, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return dict(root=root, ann=ann, images=images)


def test_check_data_of_a_classification_config(imagenet, capsys):
    from mmtat.utils import display_config
    with pytest.raises(SystemExit) as exc:
        check_data.main([_mmpretrain_resnet18(), '--nproc', '1',
                         '--data-root', imagenet['root']])
    config = display_config(_mmpretrain_resnet18())
    assert exc.value.code.startswith(
        f'ERROR: the data check of {config} found 3 problem(s) (listed '
        'above); fix or remove those files (or their lines in the '
        'annotation files) before training.')
    out = capsys.readouterr().out
    images, ann = imagenet['images'], imagenet['ann']
    assert (f'training data (ImageNet: train_dataloader.dataset, data_root='
            f'{imagenet["root"]}): 6 samples, 1000 classes (one label per '
            'image): 3 problem(s)') in out
    assert (f'[label_values] {images[1]} is labelled 1000 (line 2 of {ann}),'
            ' which is not one of the 1000 classes 0-999') in out
    assert f'[missing] {images[2]} does not exist' in out
    assert f'[truncated] {images[3]} is truncated: a JPEG file of' in out


def _classifier_config(imagenet, tmp_path, keep):
    """MMPretrain's ResNet-18 config on the generated ImageNet, shrunk to a
    CPU run, training on the lines ``keep`` of meta/train.txt in order."""
    from mmtat.checks.dry_run import shrink_for_dry_run
    with open(imagenet['ann']) as f:
        lines = f.read().splitlines()
    with open(imagenet['ann'], 'w') as f:
        f.write('\n'.join(lines[i] for i in keep) + '\n')
    cfg = shrink_for_dry_run(Config.fromfile(_mmpretrain_resnet18()),
                             data_root=imagenet['root'],
                             work_dir=str(tmp_path / 'w'), crop=(32, 32),
                             batch_size=len(keep))
    cfg.train_dataloader.sampler = dict(type='DefaultSampler', shuffle=False)
    config = str(tmp_path / 'resnet18_generated.py')
    cfg.dump(config)
    return config


def test_training_a_classifier_refuses_a_label_outside_the_classes(
        imagenet, in_process_train, tmp_path):
    """Before: IndexError: Target 1000 is out of bounds (a device-side
    assert on a GPU) from the loss, naming no file. The labels are in the
    annotation file: the check before the run reads them all."""
    config = _classifier_config(imagenet, tmp_path, keep=(0, 1, 4))
    with pytest.raises(SystemExit) as exc:
        in_process_train([config])
    assert exc.value.code.startswith(
        'ERROR: The training data (ImageNet: train_dataloader.dataset) is '
        f'not usable: {imagenet["ann"]} gives 1 image(s) a label outside the '
        '1000 classes 0-999 of ImageNet: line 2 (crossword_puzzle/'
        'crossword_puzzle_00000002.JPEG 1000).')
    assert exc.value.code.endswith('Nothing was started.')
    assert not (tmp_path / 'w').exists()


def test_training_a_classifier_stops_at_an_unreadable_image(
        imagenet, in_process_train, tmp_path):
    """An image that is no image, met during training: the data guard
    stops the run naming it (the check before the run opens only the first
    and last image)."""
    image = imagenet['images'][4]
    with open(image, 'w') as f:
        f.write('not an image\n')
    config = _classifier_config(imagenet, tmp_path, keep=(0, 4, 5))
    with pytest.raises(SystemExit) as exc:
        in_process_train([config])
    message = exc.value.code
    assert message.startswith(
        f"ERROR: Training data (ImageNet, data_root='{imagenet['root']}'): "
        f'{image} cannot be loaded (')
    assert message.endswith(
        f'check the whole dataset with python tools/misc/check_data.py '
        f'{config}, which lists every such file, and fix or remove them (or '
        f'their lines in {imagenet["ann"]}).')
    assert '\n' not in message and 'Traceback' not in message
