"""The README's demo table is a recorded run of the code at hand: it equals
the committed raw output (docs/results/demo/demo_results.json), that run
recorded a commit whose demo inputs it had not changed, and none of those
inputs changed since (otherwise: run ``make demo`` again and record it with
``python .dev_scripts/record_demo.py``)."""
import json
import os.path as osp
import subprocess

import pytest
from docs_markdown import REPO, read

from mmtat.tools.demo import METHODS, format_table

RESULTS = osp.join(REPO, 'docs', 'results', 'demo', 'demo_results.json')
BEGIN, END = '<!-- demo-table -->', '<!-- /demo-table -->'


def _report() -> dict:
    with open(RESULTS) as f:
        return json.load(f)


def test_readme_shows_the_recorded_run():
    report = _report()
    text = read('README.md')
    block = text[text.index(BEGIN):text.index(END)]
    assert format_table(report['rows']) in block
    commit = report['provenance']['commit']
    assert f'`{commit[:7]}`' in block
    assert report['provenance']['command'] in block


def test_the_recorded_run_is_a_full_clean_one():
    report = _report()
    settings, origin = report['settings'], report['provenance']
    assert settings['quick'] is False
    assert settings['methods'] == list(METHODS)
    assert [row['model'] for row in report['rows']] == [
        'teacher', 'student alone'] + [f'{m} student' for m in METHODS]
    assert origin['changed_inputs'] == [], \
        'the run had uncommitted changes to its inputs'
    for method, miou in report['teacher_mIoU_in_distillation_runs'].items():
        assert miou == report['rows'][0]['mIoU'], method


def _git(*args):
    return subprocess.run(['git', '-C', REPO, *args], capture_output=True,
                          text=True, timeout=60)


def test_no_input_of_the_recorded_run_changed_since():
    origin = _report()['provenance']
    known = _git('cat-file', '-e', origin['commit'] + '^{commit}')
    if known.returncode != 0:
        pytest.skip('the recorded commit is not in this clone\'s history '
                    '(a shallow clone?): staleness cannot be checked')
    changed = _git('diff', '--name-only', origin['commit'], 'HEAD', '--',
                   *origin['inputs'])
    assert changed.returncode == 0, changed.stderr
    assert changed.stdout.split() == [], (
        'files the demo depends on changed since the recorded run: run make '
        'demo again and record it (python .dev_scripts/record_demo.py)')
