"""tool_process.run_forked: a script run in a child of the fork server
behaves as ``python SCRIPT ARGS`` would: its arguments, working folder,
environment, merged output, exit status and exit handlers."""
import os
import subprocess
import sys

import pytest
from tool_process import run_forked

SCRIPT = '''
import atexit, os, sys
print('argv', sys.argv)
print('cwd', os.getcwd())
print('env', os.environ.get('MMTAT_TEST_VALUE'))
print('first on path', sys.path[0])
print('name', __name__)
atexit.register(lambda: print('exit handler ran'))
mode = sys.argv[1]
if mode == 'message':
    sys.exit('ERROR: a message')
if mode == 'code':
    sys.exit(3)
if mode == 'raise':
    raise ValueError('uncaught')
print('to stderr', file=sys.stderr)
'''


@pytest.fixture
def script(tmp_path):
    path = tmp_path / 'tool' / 'script.py'
    path.parent.mkdir()
    path.write_text(SCRIPT)
    return str(path)


@pytest.mark.parametrize('mode, status', [('ok', 0), ('code', 3),
                                          ('message', 1), ('raise', 1)])
def test_forked_script_runs_as_the_interpreter_would(script, tmp_path, mode,
                                                     status):
    env = dict(os.environ, MMTAT_TEST_VALUE='seen')
    forked = run_forked([script, mode], str(tmp_path), env, timeout=120)
    fresh = subprocess.run([sys.executable, script, mode], cwd=str(tmp_path),
                           env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=120)
    assert forked.returncode == fresh.returncode == status
    assert forked.args == [sys.executable, script, mode]
    for line in (f"argv ['{script}', '{mode}']", f'cwd {tmp_path}',
                 'env seen', f'first on path {os.path.dirname(script)}',
                 'name __main__', 'exit handler ran'):
        assert line in forked.stdout and line in fresh.stdout, line
    if mode == 'message':
        assert 'ERROR: a message' in forked.stdout
    if mode == 'raise':
        assert 'Traceback' in forked.stdout
        assert 'ValueError: uncaught' in forked.stdout
    if mode == 'ok':
        assert 'to stderr' in forked.stdout


def test_a_run_past_its_timeout_is_killed(tmp_path):
    path = tmp_path / 'sleeps.py'
    path.write_text('import time\ntime.sleep(600)\n')
    with pytest.raises(subprocess.TimeoutExpired) as exc:
        run_forked([str(path)], str(tmp_path), dict(os.environ), timeout=1)
    assert exc.value.timeout == 1
