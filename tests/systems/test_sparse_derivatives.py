"""Generated derivatives write only the structural non-zeros, and the system lists them."""

import math
import re
import time

import numba
import numpy as np
import pytest
import sympy

from generated_code import stored_values

from batchode.systems import ODESystem, codegen, examples


def jacobian_source(system):
    """The generated ``jacobian`` function alone, from its ``def`` to the next function."""
    source = system.derivative_source
    return source[source.index("def jacobian(") : source.index("def time_derivative(")]


def dense_written_jacobian(system, precision):
    """``jacobian`` written as it was before only non-zeros were: one line per entry, zeros included.

    One CSE over all ``n*n`` entries of SymPy's Jacobian, then the same
    rewriting and printer as the library, so that the handling of zeros is
    the only difference.  Compiled with ``numba.njit``, its arguments are
    ``(t, y, p, out)``.
    """
    model = system.symbolic
    entries = list(sympy.Matrix(model.derivatives).jacobian(model.states))
    temporaries = sympy.numbered_symbols("_j", real=True)
    assignments, results = sympy.cse(entries, symbols=temporaries)
    assignments, results = codegen._inline_trivial(assignments, results)
    assignments, results = codegen._hoist_power_bases(assignments, results, temporaries)
    printer = codegen._Printer()
    lines = ["def jacobian(t, _y, _p, _out):"]
    lines += [f"    {s.name} = _y[{i}]" for i, s in enumerate(model.states)]
    lines += [f"    {s.name} = _p[{i}]" for i, s in enumerate(model.parameters)]
    lines += [f"    {s.name} = {printer.print(e)}" for s, e in assignments]
    lines += [f"    _out[{i}] = {printer.print(e)}" for i, e in enumerate(results)]
    namespace = {"_math": math, **{name: precision(value) for value, name in printer.literals.items()}}
    exec("\n".join(lines), namespace)
    return numba.njit(namespace["jacobian"])


def test_jacobian_source_grows_with_the_non_zeros_not_the_entries():
    lengths, non_zeros = {}, {}
    for n in (10, 30, 100):
        system = examples.brusselator(n // 2)
        lengths[n], non_zeros[n] = len(jacobian_source(system)), len(system.jacobian_sparsity)
    # The non-zeros grow like n (4 per row), the entries like n**2.  Measured
    # from n = 10: 3.0x the length at n = 30 and 10.5x at n = 100, with 3.2x
    # and 11x the non-zeros; writing every entry gave 7.9x and 87x.  The
    # bound, 1.25 times linear growth, leaves 19% above the measured 10.5x
    # and is far below the quadratic growth of writing every entry.
    for n in (30, 100):
        assert lengths[n] / lengths[10] <= 1.25 * n / 10, lengths
    assert non_zeros == {10: 36, 30: 116, 100: 396}


def test_the_100_state_brusselator_jacobian_compiles_in_seconds():
    # SymPy's part (about 1 s) is done before the clock starts: the
    # dispatcher compiles on first call or when asked.
    jacobian = examples.brusselator(50).make_derivative_functions(numba.njit, np.float64).jacobian
    array = numba.types.float64[::1]
    start = time.perf_counter()
    jacobian.compile((numba.types.float64, array, array, array, array))
    elapsed = time.perf_counter() - start
    # Measured 2.6 s on a shared two-core machine (543 s when all 10,000
    # entries had a line); 10 s leaves room for a slower or busier machine.
    assert elapsed < 10.0, f"{elapsed:.1f} s"


@pytest.mark.parametrize("precision", [np.float64, np.float32])
@pytest.mark.parametrize("make", [lambda: examples.brusselator(5), examples.robertson], ids=["brusselator", "robertson"])
def test_sparse_written_jacobian_equals_the_dense_written_one_bit_for_bit(make, precision):
    system = make()
    n = system.n_states
    sparse = system.make_derivative_functions(numba.njit, precision).jacobian
    dense = dense_written_jacobian(system, precision)
    rng = np.random.default_rng(21)
    for _ in range(20):
        t = precision(rng.uniform(0, 10))
        y = rng.uniform(0.1, 4.0, n).astype(precision)
        p = (system.default_parameters * rng.uniform(0.5, 2.0, system.n_parameters)).astype(precision)
        # NaN first: an entry left unwritten would show.
        got, expected = np.full(n * n, np.nan, precision), np.full(n * n, np.nan, precision)
        sparse(t, y, p, got, np.full(2 * n, np.nan, precision))
        dense(t, y, p, expected)
        np.testing.assert_array_equal(got, expected)


def test_jacobian_sparsity_lists_the_symbolic_non_zeros_row_major():
    def branching():
        return ODESystem.from_equations("dx = floor(y)*x + ifelse(x < 1, z, 2*z)\ndy = -y\ndz = abs(x - y)")

    for make in (lambda: examples.brusselator(5), examples.lorenz, examples.robertson, branching):
        system = make()
        model = system.symbolic
        jacobian = sympy.Matrix(model.derivatives).jacobian(model.states)
        # SymPy leaves the derivative of floor unevaluated; it is zero.
        jacobian = jacobian.replace(lambda e: isinstance(e, sympy.Derivative), lambda e: 0)
        expected = tuple((i, j) for i in range(system.n_states) for j in range(system.n_states) if jacobian[i, j] != 0)
        assert system.jacobian_sparsity == expected
        # The same entries, and no others, get a value other than zero in the
        # generated jacobian.
        n = system.n_states
        zero = re.search(r"^(_c\d+) = _precision\(0\.0\)$", system.derivative_source, re.MULTILINE)
        written = [k for k, value in stored_values(jacobian_source(system)).items() if not zero or value != zero[1]]
        assert [(k // n, k % n) for k in written] == list(expected)
    assert examples.brusselator(2).jacobian_sparsity == (
        (0, 0), (0, 1), (0, 2),  # du1: u1, u2 (diffusion), v1
        (1, 0), (1, 1), (1, 3),
        (2, 0), (2, 2), (2, 3),  # dv1: u1, v1, v2
        (3, 1), (3, 2), (3, 3),
    )

    def decay(t, y, p, dydt):
        dydt[0] = -y[0]

    assert ODESystem.from_function(decay, ["x"]).jacobian_sparsity is None


def test_the_loop_clearing_a_sparse_jacobian_compiles_for_cuda_in_float32():
    """The loop is device code too, and its zero stays single precision (PTX, no GPU needed)."""
    cuda = pytest.importorskip("numba.cuda")
    system = examples.brusselator(5)
    assert "for _k in range(100):" in jacobian_source(system)
    plain = system.make_derivative_functions(lambda f: f, np.float32)
    scalar, array = numba.types.float32, numba.types.float32[::1]
    try:
        ptx, _ = cuda.compile_ptx(plain.jacobian, (scalar, *[array] * 4), device=True, cc=(8, 0))
    except Exception as error:  # no CUDA toolkit, or the simulator is enabled
        pytest.skip(f"cannot compile PTX here: {error}")
    assert ".f32" in ptx and ".f64" not in ptx
