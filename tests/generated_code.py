"""Reading generated functions back: what each loads and stores (see batchode.systems.codegen)."""

import ast


def _calls(tree: ast.AST, *names: str):
    return [node for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names]


def run_bounds(tree: ast.AST) -> list[ast.expr]:
    """The start and length nodes of every ``_load`` and ``_store`` call in the parsed ``tree``."""
    return [argument for call in _calls(tree, "_load", "_store") for argument in call.args[1:]]


def stored_values(function_source: str) -> dict[int, str]:
    """Index -> source text of each value that the generated function in ``function_source`` stores with ``_store``."""
    values = {}
    for call in _calls(ast.parse(function_source), "_store"):
        _, start, run = call.args
        for offset, value in enumerate(run.elts):
            assert start.value + offset not in values, "an entry stored twice"
            values[start.value + offset] = ast.unparse(value)
    return values


def loaded_names(function_source: str) -> dict[str, list[tuple[str, int]]]:
    """Name -> every ``(array, index)`` the generated function in ``function_source`` loads into it (``_load``)."""
    loads: dict[str, list[tuple[str, int]]] = {}
    for statement in ast.walk(ast.parse(function_source)):
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call) \
                and getattr(statement.value.func, "id", "") == "_load":
            array, start, count = statement.value.args
            (target,) = statement.targets
            assert len(target.elts) == count.value
            for offset, name in enumerate(target.elts):
                loads.setdefault(name.id, []).append((array.id, start.value + offset))
    return loads
