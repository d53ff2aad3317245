"""mmtat.checks.remote_files: the pre-flight check of remote checkpoints.

No test depends on the machine's network: URLs point at local ports that
are closed (refused at once) or held by a server that never answers (the
timeout), and proxies are cleared so that these are reached directly.
"""
import copy
import os
import os.path as osp
import socket
import threading
import time

import pytest
import torch
from mmengine.config import Config

from mmtat.checks import (
    RemoteFileUnavailableError,
    check_remote_files,
    checkpoint_cache_dir,
    find_remote_files,
)


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """An empty download cache, no proxy, the check switched on."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    for key in ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY',
                'all_proxy', 'ALL_PROXY', 'MMTAT_SKIP_REMOTE_CHECK',
                'MMTAT_REMOTE_CHECK_TIMEOUT'):
        monkeypatch.delenv(key, raising=False)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_server():
    """A local server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(('127.0.0.1', 0))
    server.listen(8)
    accepted = []
    stop = threading.Event()

    def serve():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f'http://127.0.0.1:{server.getsockname()[1]}'
    stop.set()
    thread.join(2)
    for conn in accepted:
        conn.close()
    server.close()


def distill_cfg(teacher_ckpt, teacher_pretrained='open-mmlab://resnet101_v1c',
                student_pretrained='open-mmlab://resnet18_v1c'):
    return Config(
        dict(
            model=dict(
                type='mmrazor.SingleTeacherDistill',
                architecture=dict(
                    type='EncoderDecoder', pretrained=student_pretrained),
                teacher=dict(
                    type='EncoderDecoder', pretrained=teacher_pretrained),
                teacher_ckpt=teacher_ckpt),
            load_from=None))


def test_finds_the_paths_each_mode_loads():
    cfg = Config(
        dict(
            model=dict(
                pretrained='torchvision://resnet50',
                backbone=dict(init_cfg=[
                    dict(type='Kaiming'),
                    dict(type='Pretrained', checkpoint='mmcls://resnet50'),
                ]),
                neck=dict(init_cfg=dict(
                    type='Pretrained', checkpoint='/local/neck.pth')),
                head=dict(checkpoint='https://example.invalid/x.pth')),
            load_from='https://example.invalid/run/iter_4.pth'))
    train = {f.key: f for f in find_remote_files(cfg, 'train')}
    # a 'checkpoint' outside a Pretrained init_cfg and a local path are not
    # downloads
    assert set(train) == {
        'model.pretrained', 'model.backbone.init_cfg.1.checkpoint',
        'load_from'
    }
    assert train['load_from'].url == 'https://example.invalid/run/iter_4.pth'
    assert train['load_from'].cache_path == os.path.join(
        checkpoint_cache_dir(), 'iter_4.pth')
    # testing builds the model and loads load_from; init_weights is not run
    assert [f.key for f in find_remote_files(cfg, 'test')] == ['load_from']
    with pytest.raises(ValueError, match='mode'):
        find_remote_files(cfg, 'val')


def test_names_outside_model_and_load_from_are_not_loaded():
    """A config's helper variables (the networks a shared base hands over,
    say) are never built: their paths are no files of the run."""
    network = dict(
        type='EncoderDecoder',
        backbone=dict(init_cfg=dict(
            type='Pretrained', checkpoint='https://example.invalid/b5.pth')))
    cfg = Config(
        dict(
            segformer_mitb5=network,
            student=dict(pretrained='open-mmlab://resnet18_v1c'),
            model=dict(teacher=network, teacher_ckpt=None)))
    assert [f.key for f in find_remote_files(cfg, 'train')] == [
        'model.teacher.backbone.init_cfg.checkpoint'
    ]


def test_teacher_pretrained_only_matters_without_teacher_ckpt():
    with_ckpt = distill_cfg('https://example.invalid/teacher.pth')
    assert {f.key for f in find_remote_files(with_ckpt)} == {
        'model.architecture.pretrained', 'model.teacher_ckpt'
    }
    assert {f.key for f in find_remote_files(with_ckpt, 'test')} == {
        'model.teacher_ckpt'
    }
    local = distill_cfg('/data/teacher.pth')
    assert {f.key for f in find_remote_files(local)} == {
        'model.architecture.pretrained'
    }
    without = distill_cfg(None)
    assert {f.key for f in find_remote_files(without)} == {
        'model.architecture.pretrained', 'model.teacher.pretrained'
    }


def test_model_zoo_names_resolve_like_mmengine():
    from mmengine.runner.checkpoint import get_external_models
    cfg = distill_cfg(None)
    files = {f.key: f for f in find_remote_files(cfg)}
    url = get_external_models()['resnet18_v1c']
    assert files['model.architecture.pretrained'].url == url
    assert files['model.architecture.pretrained'].cache_path == os.path.join(
        checkpoint_cache_dir(), url.rsplit('/', 1)[1])
    # unknown names are reported without any network access
    cfg = distill_cfg(None, teacher_pretrained='open-mmlab://no_such_net')
    files = {f.key: f for f in find_remote_files(cfg)}
    assert files['model.teacher.pretrained'].url is None
    assert 'unknown model-zoo name' in files['model.teacher.pretrained'].error


def test_unreachable_url_fails_fast_and_names_the_fix():
    url = f'http://127.0.0.1:{closed_port()}/zoo/teacher_r101.pth'
    cfg = distill_cfg(url, student_pretrained=None)
    start = time.monotonic()
    with pytest.raises(RemoteFileUnavailableError) as info:
        check_remote_files(cfg, timeout=2)
    assert time.monotonic() - start < 5
    message = str(info.value)
    assert f'model.teacher_ckpt = {url}' in message
    assert 'cannot connect' in message
    assert ('--cfg-options model.teacher_ckpt=/path/to/teacher_r101.pth'
            in message)
    assert os.path.join(checkpoint_cache_dir(), 'teacher_r101.pth') in message
    # setting teacher_ckpt to None would bring in the teacher's ImageNet
    # weights: the no-download line names both
    assert ('--cfg-options model.teacher_ckpt=None '
            'model.teacher.pretrained=None' in message)


def test_a_silent_server_times_out(silent_server):
    url = f'{silent_server}/teacher.pth'
    cfg = distill_cfg(url, student_pretrained=None)
    start = time.monotonic()
    with pytest.raises(RemoteFileUnavailableError,
                       match='timed out|no answer'):
        check_remote_files(cfg, timeout=0.5)
    # a HEAD and a ranged GET at most, each with the timeout
    assert time.monotonic() - start < 3


def test_timeout_from_the_environment(silent_server, monkeypatch):
    monkeypatch.setenv('MMTAT_REMOTE_CHECK_TIMEOUT', '0.3')
    cfg = distill_cfg(f'{silent_server}/teacher.pth', student_pretrained=None)
    start = time.monotonic()
    with pytest.raises(RemoteFileUnavailableError):
        check_remote_files(cfg)
    assert time.monotonic() - start < 2


def test_cached_files_are_not_fetched():
    port = closed_port()
    cfg = distill_cfg(f'http://127.0.0.1:{port}/a/teacher.pth',
                      student_pretrained=f'http://127.0.0.1:{port}/b/s.pth')
    os.makedirs(checkpoint_cache_dir())
    # complete checkpoints (an empty file is a broken download)
    torch.save({}, os.path.join(checkpoint_cache_dir(), 'teacher.pth'))
    with pytest.raises(RemoteFileUnavailableError) as info:
        check_remote_files(cfg, timeout=2)
    assert 'model.architecture.pretrained = ' in str(info.value)
    assert 'model.teacher_ckpt = ' not in str(info.value)
    torch.save({}, os.path.join(checkpoint_cache_dir(), 's.pth'))
    files = check_remote_files(cfg, timeout=2)
    assert all(f.cached and f.error is None for f in files)
    assert len(files) == 2


def test_reachable_url_passes(tmp_path):
    """A local HTTP server serving the file: the check lets the run go;
    a missing file on a reachable server is reported with its status."""
    import functools
    import http.server

    class Handler(http.server.SimpleHTTPRequestHandler):

        def log_message(self, *args):
            pass

    (tmp_path / 'teacher.pth').write_bytes(b'weights')
    server = http.server.ThreadingHTTPServer(
        ('127.0.0.1', 0),
        functools.partial(Handler, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f'http://127.0.0.1:{server.server_port}'
    try:
        files = check_remote_files(
            distill_cfg(f'{base}/teacher.pth', student_pretrained=None),
            timeout=2)
        assert [(f.key, f.error) for f in files] == [('model.teacher_ckpt',
                                                      None)]
        with pytest.raises(RemoteFileUnavailableError, match='HTTP 404'):
            check_remote_files(
                distill_cfg(f'{base}/missing.pth', student_pretrained=None),
                timeout=2)
    finally:
        server.shutdown()
        server.server_close()


def test_skip_switch(monkeypatch):
    cfg = distill_cfg(f'http://127.0.0.1:{closed_port()}/teacher.pth')
    monkeypatch.setenv('MMTAT_SKIP_REMOTE_CHECK', '1')
    assert check_remote_files(cfg) == []
    monkeypatch.setenv('MMTAT_SKIP_REMOTE_CHECK', '0')
    with pytest.raises(RemoteFileUnavailableError):
        check_remote_files(cfg, timeout=2)


REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_make_offline_leaves_nothing_to_fetch():
    from mmtat.checks import make_offline
    cfg = Config.fromfile(
        osp.join(REPO_ROOT, 'configs/tat/deeplabv3_r101_r18_voc.py'))
    keys = make_offline(cfg)
    # the teacher's own ImageNet weights surface once teacher_ckpt is gone
    assert set(keys) == {'model.teacher_ckpt', 'model.architecture.pretrained',
                         'model.teacher.pretrained'}
    assert cfg.model.teacher_ckpt is None
    assert cfg.model.teacher.pretrained is None
    assert find_remote_files(cfg, 'train') == []
    assert make_offline(cfg) == []


def test_make_offline_drops_a_pretrained_init_cfg_whole():
    """init_cfg=dict(type='Pretrained', checkpoint=None) would still load a
    checkpoint (of path None): the init_cfg itself is set to None, and the
    model builds and initialises offline."""
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS

    from mmtat.checks import make_offline
    cfg = Config.fromfile(osp.join(
        REPO_ROOT,
        'configs/tat/segformer_mitb5_deeplabv3_r18_cityscapes.py'))
    keys = make_offline(cfg)
    assert set(keys) == {'model.teacher_ckpt', 'model.architecture.pretrained',
                         'model.teacher.backbone.init_cfg'}
    assert cfg.model.teacher.backbone.init_cfg is None
    assert find_remote_files(cfg, 'train') == []
    teacher = copy.deepcopy(cfg.model.teacher)
    teacher.backbone.update(num_layers=[1, 1, 1, 1])  # a small MiT
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(teacher)
    model.init_weights()  # no download, no checkpoint of path None


def test_offline_hint_names_the_init_cfg(tmp_path):
    port = closed_port()
    cfg = Config(dict(model=dict(backbone=dict(init_cfg=dict(
        type='Pretrained', checkpoint=f'http://127.0.0.1:{port}/mit.pth')))))
    with pytest.raises(RemoteFileUnavailableError) as err:
        check_remote_files(cfg, timeout=2)
    message = str(err.value)
    assert ('(or model.backbone.init_cfg=None to start that network from '
            'random weights)') in message
    assert '--cfg-options model.backbone.init_cfg=None' in message


MOBILENETV2_CONFIG = 'configs/tat/deeplabv3plus_r101_mobilenetv2_voc.py'


def test_mmcls_name_of_the_mobilenetv2_student_resolves_like_mmengine():
    """The MobileNetV2 student's ImageNet weights, ``mmcls://mobilenet_v2``
    (MMSegmentation's key), are found, resolved with mmengine's table of
    MMClassification's releases and looked for in the download cache."""
    from mmengine.runner.checkpoint import get_mmcls_models
    cfg = Config.fromfile(osp.join(REPO_ROOT, MOBILENETV2_CONFIG))
    files = {f.key: f for f in find_remote_files(cfg, 'train')}
    assert set(files) == {'model.architecture.pretrained',
                          'model.teacher_ckpt'}
    student = files['model.architecture.pretrained']
    url = get_mmcls_models()['mobilenet_v2']
    assert (student.value, student.url, student.error) == (
        'mmcls://mobilenet_v2', url, None)
    assert student.cache_path == os.path.join(checkpoint_cache_dir(),
                                              url.rsplit('/', 1)[1])


def test_mmcls_name_unreachable_names_the_fix(monkeypatch):
    """Offline, the run stops before anything is built, naming the
    ``mmcls://`` key, its URL, the local copy to point at and the cache
    file that would be used without downloading."""
    from mmengine.runner import checkpoint
    name = 'mobilenet_v2_batch256_imagenet_20200708-3b2dc3af.pth'
    url = f'http://127.0.0.1:{closed_port()}/mmcls/{name}'
    monkeypatch.setattr(checkpoint, 'get_mmcls_models',
                        lambda: {'mobilenet_v2': url})
    cfg = Config.fromfile(osp.join(REPO_ROOT, MOBILENETV2_CONFIG))
    cfg.model.teacher_ckpt = None
    cfg.model.teacher.pretrained = None
    with pytest.raises(RemoteFileUnavailableError) as err:
        check_remote_files(cfg, timeout=2)
    message = str(err.value)
    assert (f'model.architecture.pretrained = mmcls://mobilenet_v2 ({url})'
            in message)
    assert 'cannot connect' in message
    assert (f'--cfg-options model.architecture.pretrained=/path/to/{name}'
            in message)
    assert '(or model.architecture.pretrained=None' in message
    assert os.path.join(checkpoint_cache_dir(), name) in message


def test_mmcls_weights_load_without_the_mmcls_package(monkeypatch):
    """A cached ``mmcls://mobilenet_v2`` initialises MMSegmentation's
    MobileNetV2 student through mmengine's CheckpointLoader (the
    classifier's ``backbone.`` weights, its head left out) and nothing
    imports the ``mmcls`` package."""
    import sys
    from importlib.abc import MetaPathFinder

    from mmengine.registry import DefaultScope
    from mmengine.runner.checkpoint import get_mmcls_models
    from mmseg.registry import MODELS

    class NoMMCls(MetaPathFinder):

        def find_spec(self, name, path=None, target=None):
            if name.split('.')[0] == 'mmcls':
                raise ImportError(f'{name} imported')
            return None

    cfg = Config.fromfile(osp.join(REPO_ROOT, MOBILENETV2_CONFIG))
    network = copy.deepcopy(cfg.model.architecture)
    for part in (network.backbone, network.decode_head,
                 network.auxiliary_head):
        part.norm_cfg = dict(type='BN', requires_grad=True)
    with DefaultScope.overwrite_default_scope('mmseg'):
        released = MODELS.build(dict(network, pretrained=None))
        student = MODELS.build(network)
    torch.manual_seed(0)
    weights = {f'backbone.{k}': torch.randn_like(v) if v.is_floating_point()
               else v for k, v in released.backbone.state_dict().items()}
    weights['head.fc.weight'] = torch.randn(1000, 1280)
    url = get_mmcls_models()['mobilenet_v2']
    os.makedirs(checkpoint_cache_dir())
    torch.save(dict(state_dict=weights),
               os.path.join(checkpoint_cache_dir(), url.rsplit('/', 1)[1]))
    monkeypatch.setattr(sys, 'meta_path', [NoMMCls()] + sys.meta_path)
    for name in [m for m in sys.modules if m.split('.')[0] == 'mmcls']:
        monkeypatch.delitem(sys.modules, name)
    # the pre-flight check finds it in the download cache
    (cached, ) = [f for f in find_remote_files(cfg)
                  if f.key == 'model.architecture.pretrained']
    assert cached.cached
    student.init_weights()
    loaded = student.backbone.state_dict()
    assert loaded.keys() == {k[len('backbone.'):] for k in weights
                             if k.startswith('backbone.')}
    for key, value in loaded.items():
        assert torch.equal(value, weights[f'backbone.{key}']), key
    assert not any(m.split('.')[0] == 'mmcls' for m in sys.modules)




def mmrazor_dkd():
    """MMRazor's own DKD ImageNet config, as installed with it."""
    import mmrazor
    return Config.fromfile(osp.join(
        osp.dirname(mmrazor.__file__), '.mim', 'configs', 'distill', 'mmcls',
        'dkd', 'dkd_resnet34_resnet18_8xb32_in1k.py'))

RESNET34_WEIGHTS = ('https://download.openmmlab.com/mmclassification/v0/'
                    'resnet/resnet34_8xb32_in1k_20210831-f257d4e6.pth')


@pytest.mark.parametrize('mode', ['train', 'test'])
def test_a_cfg_path_models_pretrained_weights_are_found(mode):
    """MMRazor's DKD config builds its teacher by cfg_path with
    pretrained=True: mmengine.hub fetches the weights of that config's
    model-index entry when the model is built, in any mode and beside
    teacher_ckpt."""
    cfg = mmrazor_dkd()
    assert cfg.model.teacher.pretrained is True
    found = {f.key: f for f in find_remote_files(cfg, mode)}
    assert set(found) == {'model.teacher.pretrained', 'model.teacher_ckpt'}
    weights = found['model.teacher.pretrained']
    assert weights.value == weights.url == RESNET34_WEIGHTS
    assert weights.hub_config == 'mmcls::resnet/resnet34_8xb32_in1k.py'
    assert weights.cache_path == osp.join(
        checkpoint_cache_dir(), osp.basename(RESNET34_WEIGHTS))
    assert found['model.teacher_ckpt'].hub_config is None


def test_a_cfg_path_models_unreachable_weights_name_the_fix(monkeypatch):
    from mmtat.checks import config_checkpoints, make_offline
    url = f'http://127.0.0.1:{closed_port()}/zoo/resnet34.pth'
    monkeypatch.setattr(config_checkpoints, 'hub_weights', lambda _: url)
    cfg = mmrazor_dkd()
    cfg.model.teacher_ckpt = None
    with pytest.raises(RemoteFileUnavailableError) as info:
        check_remote_files(cfg, timeout=2)
    message = str(info.value)
    assert f'model.teacher.pretrained = {url}' in message
    assert ('the weights of mmcls::resnet/resnet34_8xb32_in1k.py, which '
            'mmengine.hub loads') in message
    # the config cannot name another file there: the cache or no weights
    assert osp.join(checkpoint_cache_dir(), 'resnet34.pth') in message
    assert '--cfg-options model.teacher.pretrained=False' in message
    assert 'model.teacher.pretrained=/path/to' not in message
    assert make_offline(cfg) == ['model.teacher.pretrained']
    assert cfg.model.teacher.pretrained is False
    assert find_remote_files(cfg, 'train') == []


def test_a_cfg_path_without_model_index_weights_is_left_to_mmengine():
    cfg = Config(dict(model=dict(
        teacher=dict(cfg_path='mmpretrain::resnet/no_such_config.py',
                     pretrained=True))))
    assert find_remote_files(cfg, 'train') == []
