"""The nested example in the CUDA simulator gives the CPU backend's results."""

import numpy as np
import pytest

from batchode.tools.nested_example import example_arguments, nested_example

pytestmark = pytest.mark.cudasim


def run(backend, **locations):
    kernel = nested_example(backend=backend)
    kernel.update(**locations)
    x, out = example_arguments(6)
    kernel.launch(6, (x, out))
    return out, kernel.buffer_registry


@pytest.mark.parametrize("locations", [
    {},
    {"body_outer_workspace_location": "local", "body_outer_inner_history_location": "shared"},
    {"body_outer_inner_inner_temporary_location": "local_persistent"},
])
def test_simulator_matches_cpu(locations):
    cpu, _ = run("cpu", **locations)
    sim, registry = run("cuda", **locations)
    np.testing.assert_array_equal(sim, cpu)
    assert registry.pool_elements("shared") == registry.shared_memory_elements
