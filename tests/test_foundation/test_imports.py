"""The package's imports: no module of mmtat imports itself back through
another (an import cycle works or fails depending on which module a
process happens to import first), and only ``mmtat.compat`` reaches the
top-level start-up module."""
from typing import Dict, List, Set

from import_graph import graph, imports, modules


def _cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    state: Dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: List[str]) -> None:
        state[node] = 1
        stack.append(node)
        for child in sorted(graph[node]):
            if state.get(child) == 1:
                cycles.append(stack[stack.index(child):] + [child])
            elif child not in state:
                visit(child, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return cycles


def test_cycle_finder_finds_a_cycle():
    graph = {'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}
    assert _cycles(graph) == [['a', 'b', 'c', 'a']]
    assert _cycles({'a': {'b'}, 'b': set()}) == []


def test_no_import_cycle_in_mmtat():
    found = graph()
    assert 'mmtat.checks.remote_files' in found  # the walk found the package
    assert _cycles(found) == []


def test_only_compat_imports_the_startup_module():
    known = modules()
    users = sorted(m for m, path in known.items()
                   if '_mmtat_startup' in imports(m, path, known))
    # mmtat.compat is a package: any of its modules may be the one
    assert users and all(
        m == 'mmtat.compat' or m.startswith('mmtat.compat.') for m in users), \
        users
