"""No import cycle among the modules of ``outboxd`` and ``tui``: every module can be imported before the ones that
import it.

import-linter's layers contracts (pyproject.toml) order the packages and the daemon's parts one way; this test
looks at every module, inside a package too, on the same import graph (grimp's, as ``lint-imports`` builds it),
with the imports a function makes when it runs. An import under ``TYPE_CHECKING`` never runs: the layers
contracts count those.
"""

from __future__ import annotations

import grimp


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The groups of modules that import each other (directly or through others), each sorted; Tarjan's algorithm."""
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        order[module] = low[module] = len(order)
        stack.append(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in order:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], order[imported])
        if low[module] == order[module]:
            group = stack[stack.index(module) :]
            del stack[stack.index(module) :]
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph.modules):
        if module not in order:
            visit(module)
    return sorted(found)


def test_no_module_imports_one_that_imports_it_back() -> None:
    graph = grimp.build_graph("outboxd", "tui", exclude_type_checking_imports=True, cache_dir=None)
    assert cycles(graph) == []


def test_a_cycle_through_a_third_module_is_found() -> None:
    graph = grimp.ImportGraph()
    for module in ("a", "b", "c", "d"):
        graph.add_module(module)
    for importer, imported in (("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")):
        graph.add_import(importer=importer, imported=imported)
    assert cycles(graph) == [["a", "b", "c"]]
