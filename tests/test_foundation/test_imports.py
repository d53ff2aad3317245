"""The package's imports: no module of mmtat imports itself back through
another (an import cycle works or fails depending on which module a
process happens to import first), and only ``mmtat.compat`` reaches the
top-level start-up module."""
import ast
import os
import os.path as osp
from typing import Dict, List, Set

import mmtat

PACKAGE_DIR = osp.dirname(mmtat.__file__)


def _modules() -> Dict[str, str]:
    """mmtat module name -> file."""
    found = {}
    root = osp.dirname(PACKAGE_DIR)
    for folder, _, files in os.walk(PACKAGE_DIR):
        for name in files:
            if name.endswith('.py'):
                path = osp.join(folder, name)
                module = osp.relpath(path, root)[:-3].replace(os.sep, '.')
                found[module.removesuffix('.__init__')] = path
    return found


def _imports(module: str, path: str, modules: Dict[str, str]) -> Set[str]:
    """The modules ``module`` imports, anywhere in the file (an import
    inside a function that only breaks a cycle still is one)."""
    is_package = path.endswith('__init__.py')
    names = set()
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = module.split('.')[:None if is_package else -1]
                parts = parts[:len(parts) - node.level + 1]
                base = '.'.join(parts + ([node.module] if node.module else []))
            else:
                base = node.module or ''
            for alias in node.names:
                sub = f'{base}.{alias.name}'
                names.add(sub if sub in modules else base)
    return names


def _graph() -> Dict[str, Set[str]]:
    modules = _modules()
    return {
        module: {
            name for name in _imports(module, path, modules)
            if name in modules and name != module
        }
        for module, path in modules.items()
    }


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
    graph = _graph()
    assert 'mmtat.checks.remote_files' in graph  # the walk found the package
    assert _cycles(graph) == []


def test_only_compat_imports_the_startup_module():
    modules = _modules()
    users = sorted(m for m, path in modules.items()
                   if '_mmtat_startup' in _imports(m, path, modules))
    assert users == ['mmtat.compat']
