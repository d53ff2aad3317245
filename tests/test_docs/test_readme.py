"""README.md: short, and every number of its results tables equal to its
source.

Convention: a results table follows an HTML comment naming the metafile
its numbers come from, ``<!-- results-source: configs/tat/metafile.yml
-->``; each row names its config with a link ([config](configs/...py)),
and the columns ``mIoU (T)``, ``mIoU (S)`` and ``TaT mIoU`` are that
model's ``Metadata.Teacher``, ``Metadata.Student`` and ``Results`` mIoU
(``-`` where the metafile has none).  A teacher that is an MMSegmentation
config (``mmseg::...``) is also checked against MMSegmentation's installed
metafile."""
import importlib.util
import os.path as osp
import re

import yaml
from docs_markdown import REPO, read, tables_after

MAX_LINES = 200
#: column -> the metafile entry's value
COLUMNS = {
    'mIoU (T)': lambda m: m['Metadata']['Teacher']['Metrics']['mIoU'],
    'mIoU (S)': lambda m: m['Metadata']['Student']['Metrics']['mIoU'],
    'TaT mIoU': lambda m: m['Results'][0]['Metrics']['mIoU'],
}
NUMBER = re.compile(r'^-?\d+(\.\d+)?$')


def test_readme_is_short():
    lines = read('README.md').splitlines()
    assert len(lines) <= MAX_LINES, (
        f'README.md has {len(lines)} lines (at most {MAX_LINES}): move '
        'details to docs/en/')


def mmseg_miou(config: str) -> float:
    """mIoU of ``mmseg::<folder>/<name>.py`` in MMSegmentation's installed
    metafile (read without importing mmseg)."""
    folder, name = config.split('::', 1)[1].rsplit('/', 1)
    spec = importlib.util.find_spec('mmseg')
    root = list(spec.submodule_search_locations)[0]
    with open(osp.join(root, '.mim', 'configs', folder,
                       'metafile.yaml')) as f:
        models = {m['Name']: m for m in yaml.safe_load(f)['Models']}
    return models[name[:-len('.py')]]['Results']['Metrics']['mIoU']


def test_readme_results_equal_their_source():
    tables = tables_after(read('README.md'), 'results-source')
    assert tables, 'README.md has no <!-- results-source: ... --> table'
    checked = 0
    for source, rows in tables:
        with open(osp.join(REPO, source)) as f:
            models = {m['Config']: m for m in yaml.safe_load(f)['Models']}
        assert rows, f'the table after results-source {source} is empty'
        for row in rows:
            config = re.search(r'\]\(([^)]+)\)', row['Config']).group(1)
            assert config in models, f'{config} is not in {source}'
            model = models[config]
            for column, cell in row.items():
                if column not in COLUMNS:
                    assert not NUMBER.match(cell), (
                        f'{config}: {column} holds the number {cell}, '
                        'which no source checks')
                    continue
                value = COLUMNS[column](model)
                if value is None:
                    assert cell == '-', f'{config}: {column} {cell}, ' \
                        f'{source} has none'
                else:
                    assert NUMBER.match(cell) and float(cell) == value, \
                        f'{config}: {column} {cell}, {source} {value}'
                checked += 1
            teacher = model['Metadata']['Teacher']
            if teacher['Config'].startswith('mmseg::'):
                assert teacher['Metrics']['mIoU'] == \
                    mmseg_miou(teacher['Config']), config
    assert checked
