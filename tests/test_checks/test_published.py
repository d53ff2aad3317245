"""mmtat.checks.published: a teacher checkpoint's published mIoU, found by
its file name in mmtat's and MMSegmentation's metafiles."""
import os.path as osp

from test_configs.mmseg_metafiles import mmseg_metafile, mmseg_miou

from mmtat.checks import published_teacher_miou
from mmtat.utils import config_file


def _voc_teacher():
    import yaml
    config = config_file('tat/deeplabv3_r101_r18_voc.py')
    with open(osp.join(osp.dirname(config), 'metafile.yml')) as f:
        models = {m['Name']: m for m in yaml.safe_load(f)['Models']}
    return models['tat_deeplabv3_r101_r18_voc']['Metadata']['Teacher']


def test_teacher_of_a_shipped_config_by_its_url_or_a_local_copy():
    teacher = _voc_teacher()
    found = published_teacher_miou(teacher['Weights'])
    assert found.miou == teacher['Metrics']['mIoU']
    # the same figure as MMSegmentation's own metafile states
    assert found.miou == mmseg_miou(teacher['Config'])
    assert found.model == teacher['Config']
    assert found.source.startswith("mmtat's configs/")
    local = '/data/teachers/' + osp.basename(teacher['Weights'])
    assert published_teacher_miou(local) == found


def test_other_mmseg_weights_come_from_mmseg_metafiles():
    release = mmseg_metafile('deeplabv3')[
        'deeplabv3_r18-d8_4xb2-80k_cityscapes-512x1024']
    found = published_teacher_miou(release['Weights'])
    assert found.miou == release['Results']['Metrics']['mIoU']
    assert found.model == 'deeplabv3_r18-d8_4xb2-80k_cityscapes-512x1024'
    assert found.source == ("MMSegmentation's "
                            'configs/deeplabv3/metafile.yaml')


def test_unknown_or_no_teacher_has_none():
    assert published_teacher_miou('work_dirs/teacher/iter_20000.pth') is None
    assert published_teacher_miou(None) is None
    assert published_teacher_miou('') is None


def test_classification_weights_give_their_top1():
    """MMPretrain's released ImageNet weights: their top-1 from MMPretrain's
    metafile (or mmtat's, which states the same figure for the teachers of
    its ImageNet configs); published_teacher_miou has none for them."""
    import mmpretrain
    import yaml

    from mmtat.checks import published_teacher_result
    path = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'configs',
                    'resnet', 'metafile.yml')
    with open(path) as f:
        models = {m['Name']: m for m in yaml.safe_load(f)['Models']}
    for name in ('resnet34_8xb32_in1k', 'resnet152_8xb32_in1k'):
        release = models[name]
        found = published_teacher_result(release['Weights'])
        [result] = release['Results']
        assert found.value == result['Metrics']['Top 1 Accuracy']
        assert found.metric == 'top-1'
        assert published_teacher_miou(release['Weights']) is None
    # one that no mmtat config names: MMPretrain's own metafile
    found = published_teacher_result(models['resnet152_8xb32_in1k'][
        'Weights'])
    assert (found.model, found.source) == (
        'resnet152_8xb32_in1k', "MMPretrain's configs/resnet/metafile.yml")
    # segmentation teachers keep their mIoU
    teacher = _voc_teacher()
    found = published_teacher_result(teacher['Weights'])
    assert (found.value, found.metric) == (teacher['Metrics']['mIoU'],
                                           'mIoU')
