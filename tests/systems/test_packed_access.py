"""Runs of entries loaded and stored by one call: compiled and plain Python agree, entries land where asked."""

import pickle
import subprocess
import sys

import numba
import numpy as np
import pytest
from numba.core.errors import TypingError

from batchode.systems import examples
from batchode.systems.packed_access import load_run, store_run


def _shift(source, out):
    a, b, c = load_run(source, 2, 3)
    store_run(out, 1, (c, a + b, 7))  # an integer among the values: cast to out's type


@pytest.mark.parametrize("precision", [np.float64, np.float32])
def test_compiled_and_python_runs_agree(precision):
    source = np.arange(6, dtype=precision) + precision(0.5)
    compiled, plain = np.full(5, np.nan, precision), np.full(5, np.nan, precision)
    numba.njit(_shift)(source, compiled)
    _shift(source, plain)
    np.testing.assert_array_equal(compiled, [np.nan, 4.5, 6.0, 7.0, np.nan])
    np.testing.assert_array_equal(plain, compiled)


def test_a_run_needs_constant_bounds():
    @numba.njit
    def variable_start(source, start):
        return load_run(source, start, 2)

    with pytest.raises(TypingError, match="load_run"):
        variable_start(np.zeros(4), 1)


def test_generated_functions_give_the_same_values_compiled_and_in_python():
    system = examples.brusselator(5)
    compiled = system.make_derivative_functions(numba.njit, np.float64)
    plain = system.make_derivative_functions(lambda f: f, np.float64)
    rng = np.random.default_rng(3)
    y, p = rng.uniform(0.5, 3.0, system.n_states), system.default_parameters
    for name, size in [("jacobian_values", len(system.jacobian_sparsity)), ("jacobian", system.n_states ** 2)]:
        extra = () if name == "jacobian_values" else (np.zeros(2 * system.n_states),)
        got, expected = np.full(size, np.nan), np.full(size, np.nan)
        getattr(compiled, name)(1.0, y, p, got, *extra)
        getattr(plain, name)(1.0, y, p, expected, *extra)
        np.testing.assert_array_equal(got, expected)
        assert not np.isnan(got).any()


def test_runs_of_a_strided_view():
    source, out = np.arange(12.0), np.zeros(8)
    numba.njit(_shift)(source[::2], out[::2])  # entries 4, 6, 8 of source, into 2, 4, 6 of out
    np.testing.assert_array_equal(out, [0, 0, 8.0, 0, 10.0, 0, 7.0, 0])


def test_pickled_by_reference_in_another_process():
    # Generated functions travel to Dask workers; their globals include these.
    script = ("import pickle, sys; from batchode.systems import packed_access; "
              "assert pickle.loads(sys.stdin.buffer.read()) is packed_access.store_run")
    subprocess.run([sys.executable, "-c", script], input=pickle.dumps(store_run), check=True)
