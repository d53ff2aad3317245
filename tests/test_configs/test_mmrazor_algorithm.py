"""The TaT configs run with MMRazor's own ``SingleTeacherDistill``.

``TaTDistiller`` needs the training crop for its shape pass when it is
built; mmtat's ``LeanSingleTeacherDistill`` would fill it from
``data_preprocessor.size``, MMRazor's algorithm does not.  Every shipped TaT
config therefore gives it as ``model.distiller.input_size``, equal to the
pre-processor's crop, and builds and trains with ``model.type`` set to
MMRazor's algorithm and without the options only mmtat's algorithm takes.
"""
import glob
import inspect
import os.path as osp

import pytest
import torch
from dry_run_sizes import crop_height
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, DefaultScope
from parsed_configs import load_config
from random_batch import random_seg_batch

import mmtat  # noqa: F401  (compat fixes and registration first)
from mmtat.checks.dry_run import dry_run_crop, shrink_for_dry_run

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: the arguments of mmtat's LeanSingleTeacherDistill that MMRazor's
#: SingleTeacherDistill does not take
MMTAT_ONLY = ('lean_teacher', 'teacher_channels_last',
              'student_channels_last')
#: one config of each network pair and crop source: DeepLabV3 (the crop of
#: its network x dataset base), DeepLabV3+ with the release's recipe (the
#: recipe's 513x513 crop, the teacher in train mode), SegFormer -> DeepLabV3
#: (a transformer teacher, the student's map resized to the teacher's)
STEPPED = ('configs/tat/deeplabv3_r101_r18_voc.py',
           'configs/tat/deeplabv3plus_r101_r18_cocostuff10k_release.py',
           'configs/tat/segformer_mitb5_deeplabv3_r18_cityscapes.py')


def tat_configs():
    """Every shipped config whose distiller is TaTDistiller."""
    found = []
    for path in sorted(glob.glob(osp.join(REPO, 'configs', '*', '*.py'))):
        if osp.basename(osp.dirname(path)) == '_base_':
            continue
        distiller = load_config(path).get('model', {}).get('distiller', {})
        if distiller.get('type') == 'TaTDistiller':
            found.append(osp.relpath(path, REPO))
    return found


def as_mmrazors(model_cfg):
    """The algorithm config with MMRazor's SingleTeacherDistill."""
    model_cfg.type = 'SingleTeacherDistill'
    for key in MMTAT_ONLY:
        model_cfg.pop(key, None)
    return model_cfg


def test_tat_configs_are_found():
    paths = tat_configs()
    assert len(paths) >= 18
    assert set(STEPPED) <= set(paths)


@pytest.mark.parametrize('path', tat_configs())
def test_tat_config_gives_the_crop_to_its_distiller(path):
    model = load_config(osp.join(REPO, path)).model
    assert model.distiller.get('input_size') is not None
    assert tuple(model.distiller.input_size) == tuple(
        model.data_preprocessor.size)


@pytest.mark.parametrize('path', tat_configs())
def test_tat_config_takes_only_mmrazors_arguments(path):
    from mmrazor.models import SingleTeacherDistill
    model = as_mmrazors(load_config(osp.join(REPO, path)).model)
    accepted = set()
    for cls in SingleTeacherDistill.__mro__:
        if '__init__' in vars(cls):
            accepted |= set(inspect.signature(cls.__init__).parameters)
    assert set(model) - {'_scope_', 'type'} <= accepted - {'self'}


@pytest.mark.parametrize('path', STEPPED)
def test_tat_config_trains_with_mmrazors_algorithm(path, tmp_path,
                                                    one_thread):
    """Built at a small crop as the dry run builds it (which sets the
    distiller's input_size to that crop, where the config gives one), the
    algorithm is MMRazor's and one optimiser step trains the student and
    TaT's embeddings on a positive TaT loss, not the teacher."""
    from mmrazor.models import SingleTeacherDistill
    cfg = load_config(osp.join(REPO, path))
    crop = dry_run_crop(cfg, crop_height(path))
    cfg = shrink_for_dry_run(cfg, data_root=str(tmp_path / 'data'),
                             work_dir=str(tmp_path / 'work'), crop=crop)
    assert tuple(cfg.model.distiller.input_size) == crop
    as_mmrazors(cfg.model)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmseg'):  # as the Runner
        model = revert_sync_batchnorm(MODELS.build(cfg.model))
    assert type(model) is SingleTeacherDistill
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    num_classes = model.student.decode_head.num_classes
    data = random_seg_batch(crop, num_classes)
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model.train()
    log_vars = {
        k: float(v.detach()) if torch.is_tensor(v) else float(v)
        for k, v in model.train_step(data, optim_wrapper).items()
    }
    assert all(torch.isfinite(torch.tensor(v)) for v in log_vars.values())
    distill = {k: v for k, v in log_vars.items()
               if k.startswith('distill.loss_tat')}
    assert distill and all(v > 0 for v in distill.values()), log_vars
    after = model.state_dict()
    moved = {k for k in before if not torch.equal(before[k], after[k])}
    assert any(k.startswith('architecture.') for k in moved)
    assert any(k.startswith('distiller.') and k.endswith('weight')
               for k in moved)
    assert not any(k.startswith('teacher.') and 'running_' not in k
                   and 'num_batches_tracked' not in k for k in moved)
