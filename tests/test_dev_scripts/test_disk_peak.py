""".dev_scripts/disk_peak.py: the peak size of a folder while a command runs
(a file written, then removed), the command's exit code passed on, and a
missing command refused."""
import json
import sys

import pytest
from dev_scripts import load_script

disk_peak = load_script('disk_peak')

MEGABYTE = 1 << 20


def test_the_peak_is_seen_while_the_command_runs(tmp_path, capsys):
    folder = tmp_path / 'watched'
    folder.mkdir()
    # 8 MiB of random bytes (no sparse file), kept for a second, removed
    writer = ('import os, sys, time; p = sys.argv[1] + "/big"; '
              f'open(p, "wb").write(os.urandom({8 * MEGABYTE})); '
              'time.sleep(1.0); os.remove(p); sys.exit(3)')
    samples = tmp_path / 'samples.tsv'
    code = disk_peak.main([
        '--folder', str(folder), '--every', '0.2', '--samples', str(samples),
        '--', sys.executable, '-c', writer, str(folder)])
    report = json.loads(capsys.readouterr().out)
    assert code == report['exit_code'] == 3
    assert 8 * MEGABYTE <= report['peak_bytes'] < 9 * MEGABYTE
    assert report['end_bytes'] < MEGABYTE
    assert 0 < report['peak_at_seconds'] <= report['seconds']
    rows = samples.read_text().splitlines()
    assert len(rows) == report['samples'] >= 3
    assert max(int(row.split('\t')[1]) for row in rows) == \
        report['peak_bytes']


def test_a_missing_folder_counts_as_empty(tmp_path):
    assert disk_peak.folder_bytes(tmp_path / 'not_there') == 0


@pytest.mark.parametrize('argv, message', [
    (['--folder', '.'], 'give the command to run after --'),
    (['--folder', '.', '--every', '0', '--', 'true'],
     '--every must be positive, got 0.0'),
])
def test_bad_arguments_are_refused(argv, message, capsys):
    with pytest.raises(SystemExit):
        disk_peak.main(argv)
    assert message in capsys.readouterr().err
