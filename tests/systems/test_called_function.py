"""Functions kept out of line (``Backend.called_function``): same results, one copy of the code."""

import collections
import re

import numba
import numpy as np
import pytest

import batchode
from batchode import factory
from batchode.backends.cpu import CPUBackend
from batchode.systems import device
from batchode.systems.examples import lorenz


def _scaled_sum(x, out):
    for i in range(x.shape[0]):
        out[i] = 2.0 * x[i] + out[i]


@pytest.fixture(scope="module")
def called():
    return CPUBackend().called_function(_scaled_sum)


def test_called_function_gives_the_same_values_and_is_not_inlined(called):
    @numba.njit
    def three_calls(x, out):
        called(x, out)
        called(out, x)
        called(x, out)

    x, out = np.arange(4.0), np.ones(4)
    three_calls(x, out)
    expected_x, expected_out = np.arange(4.0), np.ones(4)
    _scaled_sum(expected_x, expected_out)
    _scaled_sum(expected_out, expected_x)
    _scaled_sum(expected_x, expected_out)
    np.testing.assert_array_equal(out, expected_out)
    np.testing.assert_array_equal(x, expected_x)

    ir = next(iter(three_calls.inspect_llvm().values()))
    inner = [name for name in re.findall(r"define [^@]*@\"?([\w.$]+)", ir) if "_scaled_sum" in name]
    assert len(inner) == 1, inner  # one copy of the code ...
    assert len(re.findall(rf"call [^\n]*@\"?{re.escape(inner[0])}\"?\(", ir)) == 3  # ... called three times


def test_called_function_propagates_errors():
    def checked(x):
        if x[0] < 0:
            raise ValueError("negative first entry")
        return x[0]

    called = CPUBackend().called_function(checked)

    @numba.njit
    def caller(x):
        return called(x) + 1.0

    assert caller(np.array([2.0])) == 3.0
    with pytest.raises(ValueError, match="negative first entry"):
        caller(np.array([-1.0]))


def test_system_functions_are_called_only_above_the_line_threshold():
    lines = device._source_lines(lorenz().make_device_functions(lambda function: function, np.float64).dxdt)
    assert lines < device.OUT_OF_LINE_LINES  # Lorenz keeps its inlined right-hand side
    inlined = device.SystemFactory(lorenz(), backend="cpu").device_function
    assert inlined.py_func.__name__ == "dxdt"


def test_out_of_line_right_hand_side_gives_bit_identical_solutions(monkeypatch):
    def solve():
        return batchode.solve_ivp(lorenz(), (0.0, 2.0), parameters={"rho": np.linspace(10.0, 28.0, 8)},
                                  method="tsit5", backend="cpu", rtol=1e-8, atol=1e-8, cache=False,
                                  save_time_series=False)

    inlined = solve()
    # Every function out of line; a fresh in-process build cache, since the
    # threshold is not part of a factory's configuration hash.
    monkeypatch.setattr(device, "OUT_OF_LINE_LINES", 0)
    monkeypatch.setattr(factory, "_BUILD_CACHE", collections.OrderedDict())
    called = solve()
    assert device.SystemFactory(lorenz(), backend="cpu").device_function.py_func.__name__ == "calling"
    np.testing.assert_array_equal(called.y_final, inlined.y_final)
    np.testing.assert_array_equal(called.n_accepted, inlined.n_accepted)
