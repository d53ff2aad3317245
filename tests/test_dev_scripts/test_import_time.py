""".dev_scripts/import_time.py: each run a new interpreter that imports
mmtat and reports how long that took; bad arguments and a cold run that
cannot drop the page cache are refused with a message."""
import json
import sys

import pytest
from dev_scripts import load_script

import_time = load_script('import_time')


def test_a_warm_run_times_the_import_in_a_new_interpreter(
        tmp_path, monkeypatch, capsys):
    out = tmp_path / 'runs.json'
    monkeypatch.setattr(sys, 'argv', [
        'import_time.py', '--runs', '1', '--json', str(out)])
    import_time.main()
    report = json.loads(out.read_text())
    assert report == json.loads(capsys.readouterr().out)
    assert report['mode'] == 'warm' and len(report['runs']) == 1
    run = report['runs'][0]
    # the import is part of the interpreter's whole run, and takes time
    assert 0 < run['import_s'] < run['interpreter_s']
    assert report['median_import_s'] == run['import_s']


def test_no_runs_is_refused(monkeypatch, capsys):
    monkeypatch.setattr(sys, 'argv', ['import_time.py', '--runs', '0'])
    with pytest.raises(SystemExit):
        import_time.main()
    assert '--runs must be at least 1, got 0' in capsys.readouterr().err


def test_cold_runs_need_to_drop_the_page_cache(tmp_path, monkeypatch):
    unwritable = tmp_path / 'missing' / 'drop_caches'
    monkeypatch.setattr(import_time, 'DROP_CACHES', str(unwritable))
    with pytest.raises(SystemExit, match=r'--cold needs to write .*'
                       r'drop_caches \(root\)'):
        import_time.drop_page_cache()
