"""The batch kernel's argument layout is defined in one place: the schema in ``batch/body.py``.

Read with ``ast`` from every module of the package: no other module names
several of the kernel's arguments as text or unpacks its outputs by
position, and no module of the batch layer (or above) indexes an argument
tuple with a number. The detectors are tested on code that does each of
those, so a pass means something.
"""

import ast
from pathlib import Path

import numpy as np
import pytest

import batchode
from batchode.batch.body import SCHEMA
from batchode.batch.chunking import BatchShape
from batchode.batch.results import SolveResult
from batchode.counters import Counter

OWNER = "batch/body.py"
#: Argument names no other code spells out (the outputs' result fields have names of their own).
DISTINCTIVE = {"t_end", "dt0", "initial_states", "save_times", "samples_per_window", "runtime_values",
               "end_state", "end_time"}
#: The modules that launch the batch kernel (others have argument tuples of their own).
KERNEL_USERS = ("batch/", "api.py", "tree.py")
#: Names a positional unpacking of the outputs would bind.
OUTPUT_NAMES = {"states", "observables", "summary", "summaries", "counters", "status", "end_state", "end_time",
                "event_counts", "event_times", "event_states"}


def names_as_text(tree) -> set:
    """Argument names written as strings, when there are several (``__all__`` lists functions, not arguments)."""
    exported = {id(node) for assign in ast.walk(tree) if isinstance(assign, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "__all__" for t in assign.targets)
                for node in ast.walk(assign.value)}
    found = {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
             and node.value in DISTINCTIVE and id(node) not in exported}
    return found if len(found) >= 2 else set()


def positional_unpackings(tree) -> list:
    """Tuple targets binding three or more output names at once."""
    found = []
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.For) else []
        for target in targets:
            if isinstance(target, ast.Tuple):
                bound = {element.id for element in target.elts if isinstance(element, ast.Name)}
                if len(bound & OUTPUT_NAMES) >= 3:
                    found.append(node.lineno)
    return found


def numbered_arguments(tree) -> list:
    """``args[3]``-style indexing of an argument tuple."""
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name)
            and node.value.id in ("args", "arguments") and isinstance(node.slice, ast.Constant)]


def modules():
    root = Path(batchode.__file__).parent
    return {path.relative_to(root).as_posix(): ast.parse(path.read_text(encoding="utf-8"))
            for path in sorted(root.rglob("*.py"))}


def test_the_detectors_find_a_layout_written_elsewhere():
    tree = ast.parse("args = (t0, t_end, dt0, 'initial_states', 'samples_per_window', 'runtime_values')\n"
                     "states, observables, summary, counters, status, *events = outputs\n"
                     "status = args[12]\n"
                     "__all__ = ['save_times', 'samples_per_window']\n")
    assert len(names_as_text(tree)) == 3 and positional_unpackings(tree) == [2] and numbered_arguments(tree) == [3]
    assert not names_as_text(ast.parse("FOREIGN = {'dt0': 'dt'}"))  # one name is no layout


def test_the_kernel_layout_is_defined_only_in_the_schema():
    found = {name: (sorted(names_as_text(tree)), positional_unpackings(tree),
                    numbered_arguments(tree) if name.startswith(KERNEL_USERS) else [])
             for name, tree in modules().items()}
    elsewhere = {name: what for name, what in found.items() if name != OWNER and any(what)}
    assert not elsewhere, f"the kernel's argument layout is spelt out outside {OWNER}: {elsewhere}"
    assert set(found[OWNER][0]) == DISTINCTIVE  # the schema is where they are


@pytest.fixture
def shape():
    return BatchShape(n_runs=3, n_states=2, n_parameters=1, state_rows=4, n_observables=1, n_windows=2,
                      summary_width=5, precision=np.float32, n_events=2, event_records=3)


@pytest.mark.parametrize("runs_last", [False, True])
def test_outputs_allocated_from_the_schema_come_back_run_major(shape, runs_last):
    outputs = shape.allocate_outputs(runs_last=runs_last)
    assert [a.nbytes for a in outputs] and sum(a.nbytes for a in outputs) == shape.output_bytes
    major = SCHEMA.run_major(shape, outputs, runs_last)
    for argument, values in zip(SCHEMA.outputs, major):
        assert values.shape == (3, *argument.dims(shape)), argument.name
    assert SCHEMA.output(outputs, "status").tolist() == [32, 32, 32]  # NOT_RUN until integrated
    assert SCHEMA.output(major, "states").shape == (3, 4, 2) and SCHEMA.output(major, "states").dtype == np.float32


def test_result_fields_and_the_store_layout_come_from_the_schema(shape):
    major = SCHEMA.run_major(shape, shape.allocate_outputs(), False)
    SCHEMA.output(major, "counters")[:] = np.arange(3 * len(Counter)).reshape(3, -1)
    fields = SCHEMA.field_values(shape, major)
    layout = SCHEMA.field_layout(shape)
    assert set(fields) == set(layout) and set(fields) <= {field.name for field in SolveResult.__attrs_attrs__}
    for name, values in fields.items():
        assert (values.shape[1:], values.dtype) == layout[name], name
    assert fields["n_linear_iterations"].tolist() == [len(Counter) * run + int(Counter.LINEAR_ITERATIONS) for run in range(3)]
    without = BatchShape(n_runs=3, n_states=2, n_parameters=1, state_rows=4, n_observables=0, n_windows=1,
                         summary_width=0, precision=np.float64)
    assert not {"observables", "summaries", "event_counts"} & set(SCHEMA.field_layout(without))
