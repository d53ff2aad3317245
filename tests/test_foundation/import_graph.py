"""The import graph of mmtat's modules, read from their source (AST): the
helpers of test_imports.py and test_layers.py."""
import ast
import os
import os.path as osp
from typing import Dict, Set

import mmtat

PACKAGE_DIR = osp.dirname(mmtat.__file__)


def modules() -> Dict[str, str]:
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


def imports(module: str, path: str, known: Dict[str, str]) -> Set[str]:
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
                names.add(sub if sub in known else base)
    return names


def graph() -> Dict[str, Set[str]]:
    """mmtat module -> the mmtat modules it imports."""
    known = modules()
    return {
        module: {
            name for name in imports(module, path, known)
            if name in known and name != module
        }
        for module, path in known.items()
    }
