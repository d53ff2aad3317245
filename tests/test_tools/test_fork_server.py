"""tests/fork_server.py: one forkserver context per process whose
server preloads what every caller named."""
import multiprocessing

import fork_server as module


def test_every_callers_modules_are_preloaded(monkeypatch):
    calls = []
    context = multiprocessing.get_context('forkserver')
    # the process's own fork server is left as it is
    monkeypatch.setattr(module, '_preload', [])
    monkeypatch.setattr(type(context), 'set_forkserver_preload',
                        lambda self, names: calls.append(names))
    assert module.fork_server(['torch', 'mmtat']) is context
    assert module.fork_server(['mmtat', 'mmtat.tools.benchmark']) is context
    assert module.fork_server(['torch']) is context  # nothing new
    assert calls == [['torch', 'mmtat'],
                     ['torch', 'mmtat', 'mmtat.tools.benchmark']]
