"""The package's layers: a module imports its own layer and the layers
below it, never one above.

0. ``mmtat.utils`` (generic helpers), ``mmtat.compat`` (fixes of the
   installed stack), ``mmtat.version``;
1. ``mmtat.models``, ``mmtat.datasets`` (what configs build);
2. ``mmtat.engine`` (run-time wiring and hooks), ``mmtat.checks`` (the
   tools' checks);
3. ``mmtat.tools``, ``mmtat.visualization`` (what the tools use).

``mmtat`` itself (its ``__init__``, which applies the fixes and registers
the modules) stands outside: Python imports it before any module of the
package, so a tool's ``import mmtat`` adds no dependency of its own.

So a helper that two layers need lives in the lower one (the argument
checks of models and datasets are in ``mmtat.utils``), instead of a
dataset transform importing from the models or a generic helper from the
tools' checks.
"""
from typing import Dict, List, Set, Tuple

from import_graph import graph

LAYERS = {
    'mmtat.utils': 0,
    'mmtat.compat': 0,
    'mmtat.version': 0,
    'mmtat.models': 1,
    'mmtat.datasets': 1,
    'mmtat.engine': 2,
    'mmtat.checks': 2,
    'mmtat.tools': 3,
    'mmtat.visualization': 3,
}
ROOT = 'mmtat'


def layer_of(module: str) -> Tuple[str, int]:
    """The part of mmtat ``module`` belongs to (the longest key of
    :data:`LAYERS` it is or lies in) and that part's layer."""
    parts = module.split('.')
    for end in range(len(parts), 0, -1):
        part = '.'.join(parts[:end])
        if part in LAYERS:
            return part, LAYERS[part]
    raise KeyError(f'{module} is in no layer: add its package to LAYERS')


def upward_imports(graph: Dict[str, Set[str]]) -> List[str]:
    """``'a (layer i) imports b (layer j)'`` for each import of a higher
    layer (j > i)."""
    found = []
    for module in sorted(set(graph) - {ROOT}):
        part, layer = layer_of(module)
        for imported in sorted(graph[module] - {ROOT}):
            other, other_layer = layer_of(imported)
            if other_layer > layer:
                found.append(f'{module} ({part}, layer {layer}) imports '
                             f'{imported} ({other}, layer {other_layer})')
    return found


def test_layer_checker_names_the_offending_edge():
    graph = {
        'mmtat.datasets.transforms.resize': {'mmtat.models.utils',
                                             'mmtat.utils.arguments'},
        'mmtat.models.utils': {'mmtat.utils.arguments'},
        'mmtat.utils.arguments': set(),
        'mmtat.utils.package_files': {'mmtat.checks.published'},
        'mmtat.checks.published': {'mmtat.utils.package_files'},
        'mmtat.tools.train': {'mmtat', 'mmtat.engine',
                              'mmtat.checks.published'},
        'mmtat.engine': set(),
    }
    assert upward_imports(graph) == [
        'mmtat.utils.package_files (mmtat.utils, layer 0) imports '
        'mmtat.checks.published (mmtat.checks, layer 2)'
    ]


def test_every_module_has_a_layer():
    for module in set(graph()) - {ROOT}:
        layer_of(module)  # raises for a new top-level package


def test_no_module_imports_a_higher_layer():
    assert upward_imports(graph()) == []
