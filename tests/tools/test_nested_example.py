"""The three-level nested factory on the CPU backend."""

import numpy as np
import pytest

from batchode.tools.nested_example import example_arguments, nested_example

LEVELS = ["body_outer", "body_outer_inner", "body_outer_inner_inner"]
BUFFERS = ["workspace", "temporary", "history"]


def reference(x, steps=3, depth=3, scale=2.0):
    """The example's arithmetic in numpy."""
    history = [np.zeros_like(x) for _ in range(depth)]
    out = np.zeros_like(x)
    for _ in range(steps):
        inputs, temporaries, workspaces = x, [], []
        for level in range(depth):
            temporary = inputs * scale
            workspace = temporary + 1.0
            history[level] = history[level] + workspace
            temporaries.append(temporary)
            workspaces.append(workspace)
            inputs = workspace
        out = history[-1] * workspaces[-1] - temporaries[-1]
        for level in reversed(range(depth - 1)):
            out = out + history[level] - temporaries[level]
    return out


@pytest.fixture(scope="module")
def kernel():
    return nested_example(backend="cpu")


def run(kernel, n=16):
    x, out = example_arguments(n)
    kernel.launch(n, (x, out))
    return x, out


def test_cpu_matches_numpy(kernel):
    x, out = run(kernel)
    np.testing.assert_allclose(out, reference(x), rtol=1e-15)


@pytest.mark.parametrize("level, buffer, location", [
    ("body_outer", "workspace", "local"),
    ("body_outer_inner", "temporary", "shared"),
    ("body_outer_inner_inner", "history", "shared"),
    ("body_outer_inner", "workspace", "local_persistent"),
])
def test_moving_a_buffer_rebuilds_changes_totals_and_keeps_results(kernel, level, buffer, location):
    _, before = run(kernel)
    registry = kernel.buffer_registry
    totals = (registry.shared_memory_elements, registry.local_memory_elements,
              registry.persistent_local_elements)
    key = f"{level}_{buffer}_location"
    old = kernel.update(**{key: location})
    assert old == {key}
    assert kernel.is_stale
    new_totals = (registry.shared_memory_elements, registry.local_memory_elements,
                  registry.persistent_local_elements)
    assert new_totals != totals and sum(new_totals) == sum(totals)
    x, after = run(kernel)
    np.testing.assert_array_equal(after, before)
    np.testing.assert_allclose(after, reference(x), rtol=1e-15)
