"""The explicit engine's handling of an interpolant with extra stages, read from its generated source.

Nothing here compiles: the buffers and the generated ``prepare`` are
inspected as data. What the compiled interpolant does is tested end to end
in ``tests/integration/test_dense_output_saves.py``.
"""

import re

import numpy as np
import pytest

from batchode.algorithms import ERKStep
from batchode.algorithms.tableaus import get_tableau
from batchode.memory import BufferLocation
from batchode.systems.device import SystemFactory
from batchode.systems.examples import harmonic_oscillator

N = 2  # the oscillator's states


@pytest.fixture(scope="module")
def system():
    return SystemFactory(harmonic_oscillator(), precision=np.float64, backend="cpu")


@pytest.mark.parametrize(("name", "extra"), [("dop853", 4), ("vern7", 6)])
def test_the_kept_stages_include_the_extra_ones(system, name, extra):
    step = ERKStep(system, tableau=name, n_states=N, dense_output=True)
    buffers = step.buffer_registry.buffers
    assert step.extra_stages == extra
    assert buffers["interpolation_stages"].resolved_size() == (get_tableau(name).stages + extra) * N
    assert buffers["extra_stage_state"].is_enabled() and buffers["extra_stage_state"].resolved_size() == N
    assert buffers["extra_stage_state"].location is BufferLocation.LOCAL


@pytest.mark.parametrize(("name", "dense_output"), [("tsit5", True), ("dop853", False), ("cash-karp-54", True)])
def test_no_extra_stage_state_without_extra_stages(system, name, dense_output):
    step = ERKStep(system, tableau=name, n_states=N, dense_output=dense_output)
    assert step.extra_stages == 0
    assert not step.buffer_registry.buffers["extra_stage_state"].is_enabled()


@pytest.mark.parametrize("name", ["dop853", "vern7"])
def test_serving_the_interpolant_leaves_the_step_as_it_was(system, name):
    # The same source whether or not the stages are kept: saves never change the steps.
    kept = ERKStep(system, tableau=name, n_states=N, dense_output=True)
    plain = ERKStep(system, tableau=name, n_states=N, dense_output=False)
    assert kept.generated_source() == plain.generated_source()


@pytest.mark.parametrize("name", ["dop853", "vern7"])
def test_prepare_writes_only_the_extra_stages(system, name):
    tableau = get_tableau(name)
    s, extra = tableau.stages, tableau.dense_output.extra_stages
    lines = ERKStep(system, tableau=name, n_states=N, dense_output=True)._prepare_source().lines
    calls = [line.strip() for line in lines if "dxdt(" in line]
    # One evaluation per extra stage, each into its own block after the method's stages;
    # the first (row b, node 1) at the step's end point itself.
    assert calls[0] == f"dxdt(t + dt, y_new, p, k_{s})"
    assert [call.rsplit(", ", 1)[1] for call in calls] == [f"k_{r})" for r in range(s, s + extra)]
    # The only array assigned element by element is the scratch state.
    assert {m.group(1) for line in lines if (m := re.match(r"\s+(\w+)\[j\] =", line))} == {"y_stage"}


def test_prepare_leaves_zero_coefficients_out(system):
    lines = ERKStep(system, tableau="dop853", n_states=N, dense_output=True)._prepare_source().lines
    # Stage 14 of dop853.f reads stages 1 and 7-13 only.
    row = next(line for line in lines if "a_13_" in line)
    assert re.findall(r"a_13_(\d+)", row) == ["0", "6", "7", "8", "9", "10", "11", "12"]
