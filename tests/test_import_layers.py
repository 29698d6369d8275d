"""batchode's modules import one another in one direction only.

Every ``import`` and ``from ... import`` in every module of the package is
read with ``ast`` (module level, inside functions and under
``TYPE_CHECKING`` alike: a deferred import is still a dependency), relative
imports resolved against the importing module's package. ``from p import
name`` depends on the module ``p.name`` when there is one, else on ``p``.
Importing ``a.b.c`` also runs the ``__init__`` of ``a`` and ``a.b``; those
implicit edges are left out, as every import checker does, since otherwise
any module importing anything under ``batchode`` would depend on the
package's ``__init__``, which imports the public API.

Two rules (ARCHITECTURE.md, "Layers and packages"):

1. **No import cycles.** A cycle means neither module can be understood,
   tested or loaded without the other; with module-level imports it is
   also a partially initialised module waiting to happen.
2. **No layer violations.** The packages form layers, each built only on
   those below it (``api`` -> ``batch`` -> ``loop`` -> algorithms, solvers,
   controllers, outputs -> ``systems``; everything on ``memory`` and
   ``backends``). A layer violation is a module importing one from a layer
   above its own: the lower layer then depends on the higher one, so it no
   longer stands on its own. ``memory`` is the bottom layer: a
   ``batchode.memory`` module imports no batchode module outside
   ``batchode.memory``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import batchode

PACKAGE = "batchode"
#: The bottom layer: its modules import nothing of batchode's outside it.
BOTTOM = "batchode.memory"


def package_modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name, for its ``__init__``)."""
    root = Path(batchode.__file__).parent
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute name of the module ``node`` imports from (resolving ``from . import x``)."""
    if node.level == 0:
        return node.module
    anchor = module.split(".") if is_package else module.split(".")[:-1]
    base = anchor[: len(anchor) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The batchode modules ``module`` imports anywhere in its source."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = _absolute(module, is_package, node)
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                found.add(submodule if submodule in modules else source)
    return {name for name in found if name in modules and name != module}


def import_graph() -> dict[str, set[str]]:
    modules = package_modules()
    return {module: imports_of(module, path, modules) for module, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_the_package():
    graph = import_graph()
    assert {"batchode", "batchode.api", "batchode.memory.registry", "batchode.batch.results"} <= set(graph)
    assert "batchode.batch.export" in graph["batchode.batch.results"]  # a module-level import
    assert "batchode.memory.location" in graph["batchode.memory.buffer"]


def test_relative_and_function_level_imports_are_seen(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from . import leaf\n")
    (package / "sub" / "leaf.py").write_text("def f():\n    from ..top import g\n    from .. import top\n")
    (package / "top.py").write_text("")
    modules = {"pkg": package / "__init__.py", "pkg.sub": package / "sub" / "__init__.py",
               "pkg.sub.leaf": package / "sub" / "leaf.py", "pkg.top": package / "top.py"}
    assert imports_of("pkg.sub", modules["pkg.sub"], modules) == {"pkg.sub.leaf"}
    assert imports_of("pkg.sub.leaf", modules["pkg.sub.leaf"], modules) == {"pkg.top"}


def test_cycles_are_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    found = cycles(import_graph())
    assert not found, "import cycles among batchode modules: " + "; ".join(" <-> ".join(c) for c in found)


def test_memory_imports_nothing_above_it():
    violations = sorted(
        f"{module} imports {imported}"
        for module, imported_modules in import_graph().items()
        if module == BOTTOM or module.startswith(BOTTOM + ".")
        for imported in imported_modules
        if not (imported == BOTTOM or imported.startswith(BOTTOM + "."))
    )
    assert not violations, "layer violations (memory is the bottom layer): " + "; ".join(violations)
