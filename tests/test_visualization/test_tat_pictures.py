"""mmtat.visualization: attention maps and PCA pictures of TaT."""
import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

import mmtat  # noqa: F401
from mmtat.models import TaTLoss
from mmtat.visualization import (
    anchor_attention_map,
    draw_tat_pictures,
    inspect_tat,
    patch_attention_map,
    pca_colours,
    prepare_image,
)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_pca_colours_separate_what_differs_and_share_a_basis():
    feature = torch.zeros(5, 4, 6)
    feature[0, :2] = 1.0  # top half differs from the bottom half
    rgb, basis = pca_colours(feature)
    assert rgb.shape == (4, 6, 3) and rgb.dtype == np.uint8
    assert (rgb[:2] == rgb[0, 0]).all() and (rgb[2:] == rgb[3, 0]).all()
    assert not (rgb[0, 0] == rgb[3, 0]).all()
    again, _ = pca_colours(feature, basis)
    assert (again == rgb).all()


def test_patch_attention_lands_in_the_patches_of_the_group():
    # 4x4 map, 2x2 patches -> 2x2 patches of 4 positions; 2 patches per
    # group, 3 channels: heads 0 = patches 0, 1 and 1 = patches 2, 3
    loss = TaTLoss(2, 3, patch_size=(2, 2), patches_per_group=2,
                   anchor_window=(2, 2))
    geometry = loss.geometry(4, 4)
    attention = torch.full((2, 4, 4), 0.25)
    attention[1, 3] = torch.tensor([0.7, 0.1, 0.1, 0.1])
    # target (3, 1): patch 2 (bottom left), within-patch position 3
    out = patch_attention_map(attention, geometry, 3, (4, 4), (3, 1))
    expected = np.zeros((4, 4))
    expected[2:, :] = np.tile([[0.7, 0.1], [0.1, 0.1]], (1, 2))
    np.testing.assert_allclose(out, expected)
    # a map whose last row is not tiled
    geometry = loss.geometry(5, 4)
    assert patch_attention_map(attention, geometry, 3, (5, 4),
                               (4, 0)) is None


def test_anchor_attention_covers_each_window():
    loss = TaTLoss(2, 3, anchor_window=(2, 2), patch_weight=0)
    geometry = loss.geometry(4, 6)  # 2x3 anchors
    attention = torch.zeros(1, 6, 6)
    attention[0, 4] = torch.tensor([0., 0.5, 0., 0., 0.5, 0.])
    out = anchor_attention_map(attention, geometry, (4, 6), (3, 2))
    expected = np.zeros((4, 6))
    expected[0:2, 2:4] = 0.5
    expected[2:4, 2:4] = 0.5
    np.testing.assert_allclose(out, expected)


@pytest.fixture
def voc_model():
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import MODELS, DefaultScope

    from mmtat.checks import make_offline
    cfg = Config.fromfile(osp.join(REPO,
                                   'configs/tat/deeplabv3_r101_r18_voc.py'))
    make_offline(cfg)
    cfg.model.data_preprocessor.size = (128, 128)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = revert_sync_batchnorm(MODELS.build(cfg.model))
    model.init_weights()
    return model


def test_pictures_of_a_random_model_on_a_generated_image(voc_model,
                                                          tmp_path):
    from mmtat.datasets import make_synthetic_voc
    root = make_synthetic_voc(str(tmp_path / 'data'), num_train=1,
                              num_val=1, image_size=(96, 128))
    image = sorted(glob.glob(osp.join(root, 'JPEGImages', '*.jpg')))[0]
    rgb, inputs = prepare_image(image, voc_model.data_preprocessor,
                                (128, 128))
    assert rgb.shape == (96, 128, 3) and inputs.shape == (1, 3, 128, 128)
    # padded as the pre-processor pads: zeros below the image
    assert inputs[0, :, 96:].abs().sum() == 0
    voc_model.train()
    inspection = inspect_tat(voc_model, inputs)
    assert voc_model.training  # the mode is restored
    (name, result), = inspection.items()
    assert name == 'loss_tat_bottleneck'
    assert result['preds_T'].shape == (1, 512, 16, 16)
    assert result['patch_output'].shape == (1, 512, 16, 16)
    files = draw_tat_pictures(rgb, inspection, str(tmp_path / 'out'),
                              positions=[(0.5, 0.5), (0.9, 0.1)])
    assert [osp.basename(f) for f in files[name]] == [
        'bottleneck_attention.png', 'bottleneck_pca.png'
    ]
    for path in files[name]:
        with Image.open(path) as picture:
            assert picture.size[0] > 300 and picture.size[1] > 200


def test_a_model_without_tat_is_refused(voc_model):
    voc_model.distiller.distill_losses.clear()
    with pytest.raises(ValueError, match='has no TaT loss'):
        inspect_tat(voc_model, torch.zeros(1, 3, 128, 128))


def test_a_config_without_distiller_is_one_paragraph(tmp_path):
    """visualize_config (the tool's and the demo's) names what is wrong."""
    from mmtat.utils import InputError
    from mmtat.visualization import visualize_config
    cfg = Config.fromfile(osp.join(REPO,
                                   'configs/baselines/deeplabv3_r18_voc.py'))
    with pytest.raises(InputError, match='the config has no distiller'):
        visualize_config(cfg, 'none', 'no.jpg', str(tmp_path))
    cfg = Config.fromfile(osp.join(REPO,
                                   'configs/tat/deeplabv3_r101_r18_voc.py'))
    with pytest.raises(InputError, match='the image no.jpg does not exist'):
        visualize_config(cfg, 'none', 'no.jpg', str(tmp_path))
