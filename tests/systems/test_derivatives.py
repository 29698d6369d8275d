"""Derivatives for implicit solvers: generated (equations) and finite-difference (functions)."""

import ast
import functools

import numba
import numpy as np
import pytest
import sympy

from generated_code import run_bounds, stored_values

from batchode.systems import ODESystem, examples
from batchode.systems.device import SystemFactory

def forced_oscillator():
    """A damped oscillator driven by ``F cos(omega t)``: a non-autonomous system."""
    return ODESystem.from_equations(
        """
        dx = v
        dv = -k*x - c*v**3 + F*cos(omega*t)
        """,
        parameters={"k": 2.0, "c": 0.3, "F": 1.5, "omega": 1.2},
        initial_state={"x": 1.0, "v": 0.0},
    )


def branching():
    """Every piecewise function, evaluated away from its switching points."""
    return ODESystem.from_equations(
        """
        dx = ifelse(x < 1, x**2*y, 3*x) + min(x, y, 0.5*z) + floor(x*y)*y
        dy = max(x, y) * abs(y - z) + ceil(z) * x
        dz = a * z
        a = ifelse(y > x, x*y, -z)
        """
    )


# (system, draw(rng): a state where every switch is far away).  Each test
# seeds its own generator, so its draws never depend on which tests ran before.
SYSTEMS = {
    "lorenz": (examples.lorenz, lambda rng: rng.uniform(-20, 20, 3)),
    "van_der_pol": (examples.van_der_pol, lambda rng: rng.uniform(-3, 3, 2)),
    "robertson": (examples.robertson, lambda rng: [0.9, 3e-5, 0.1] * rng.uniform(0.5, 1.5, 3)),
    "forced_oscillator": (forced_oscillator, lambda rng: rng.uniform(-2, 2, 2)),
    "branching": (branching, lambda rng: rng.choice([0.3, 0.7, 1.6, 2.2], 3, replace=False) + 0.05),
}


@functools.cache  # compiling takes most of these tests' time
def compiled(make, precision=np.float64):
    """The system ``make()`` returns, its device functions and its derivatives."""
    system = make()
    return (
        system,
        system.make_device_functions(numba.njit, precision),
        system.make_derivative_functions(numba.njit, precision),
    )


def evaluate(derivatives, name, t, y, p, v=None):
    """Call one derivative function with fresh output and scratch arrays."""
    n = y.size
    out = np.empty(n * n if name == "jacobian" else n, y.dtype)
    work = np.full(2 * n, np.nan, y.dtype)  # the analytic versions must not read it
    # Solvers may pass y in a longer array (e.g. followed by t): only the
    # first n entries may be read.
    padded = np.append(y, np.nan).astype(y.dtype)
    arguments = (t, padded, p) if v is None else (t, padded, p, v)
    getattr(derivatives, name)(*arguments, out, work)
    return out.reshape(n, n) if name == "jacobian" else out


def central_differences(dxdt, t, y, p):
    """df/dy (n x n) and df/dt by central differences of the compiled dxdt."""

    def f(t, y):
        dydt = np.empty(y.size)
        dxdt(t, y, p, dydt)
        return dydt

    steps = 1e-6 * np.maximum(1.0, np.abs(y))
    columns = [(f(t, y + h * e) - f(t, y - h * e)) / (2 * h) for h, e in zip(steps, np.eye(y.size))]
    h = 1e-6 * max(1.0, abs(t))
    return np.array(columns).T, (f(t + h, y) - f(t - h, y)) / (2 * h)


def sympy_derivatives(system, t, y, p):
    """SymPy's own df/dy and df/dt, evaluated at a point."""
    model = system.symbolic
    point = {model.time: t, **dict(zip(model.states, y)), **dict(zip(model.parameters, p))}
    f = sympy.Matrix(model.derivatives)
    # SymPy leaves the derivatives of floor and ceil unevaluated; they are 0.
    unevaluated = lambda e: isinstance(e, (sympy.Derivative, sympy.Subs))  # noqa: E731
    jacobian = f.jacobian(model.states).replace(unevaluated, lambda e: 0).xreplace(point)
    time_derivative = f.diff(model.time).replace(unevaluated, lambda e: 0).xreplace(point)
    return np.array(jacobian, dtype=float), np.array(time_derivative, dtype=float).ravel()


def float_types(dispatcher):
    """The float types numba inferred for every variable of a compiled function."""
    (signature,) = dispatcher.signatures
    typemap = dispatcher.overloads[signature].fndesc.typemap
    return {t for t in typemap.values() if isinstance(t, numba.types.Float)}


def in_both_precisions(t, *arrays):
    """Arguments rounded to float32, and the same values in float64 as reference."""
    single = [np.float32(t), *(np.asarray(a, np.float32) for a in arrays)]
    return single, [np.float64(single[0]), *(a.astype(np.float64) for a in single[1:])]


def close(got, expected, rtol, floor=1e-300):
    """Entries agree to ``rtol`` relative to the largest entry of their row (at least ``floor``)."""
    scale = np.maximum(np.abs(expected).max(axis=-1, keepdims=True), floor)
    assert np.all(np.abs(got - expected) <= rtol * scale), f"\n{got}\n!=\n{expected}"


@pytest.mark.parametrize("name", SYSTEMS)
def test_generated_derivatives_match_sympy_and_central_differences(name):
    make, draw = SYSTEMS[name]
    system, functions, derivatives = compiled(make)
    p = system.default_parameters
    rng = np.random.default_rng(11)
    for _ in range(5):
        t, y, v = rng.uniform(0, 10), draw(rng), rng.normal(size=system.n_states)
        jacobian = evaluate(derivatives, "jacobian", t, y, p)
        time_derivative = evaluate(derivatives, "time_derivative", t, y, p)

        exact_jacobian, exact_time_derivative = sympy_derivatives(system, t, y, p)
        np.testing.assert_allclose(jacobian, exact_jacobian, rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(time_derivative, exact_time_derivative, rtol=1e-12, atol=1e-300)

        numeric_jacobian, numeric_time_derivative = central_differences(functions.dxdt, t, y, p)
        close(jacobian, numeric_jacobian, rtol=1e-6)
        close(time_derivative, numeric_time_derivative, rtol=1e-6)

        jvp = evaluate(derivatives, "jvp", t, y, p, v)
        close(jvp, jacobian @ v, rtol=1e-13)
        np.testing.assert_allclose(evaluate(derivatives, "jacobian_diagonal", t, y, p), np.diag(exact_jacobian),
                                   rtol=1e-12, atol=1e-300)


def test_autonomous_time_derivative_is_zero_and_jvp_skips_zero_entries():
    system, _, derivatives = compiled(examples.robertson)
    y = np.array([0.5, 1e-4, 0.5])
    np.testing.assert_array_equal(
        evaluate(derivatives, "time_derivative", 0.0, y, system.default_parameters), 0.0
    )
    source = system.derivative_source
    jvp = source[source.index("def jvp") : source.index("def jacobian")]
    # dy3 = k2*y2**2 depends on y2 only: its row reads _v1 and nothing else.
    last_row = stored_values(jvp)[2]
    assert "_v0" not in last_row and "_v2" not in last_row
    # Zeros are written once each, as the literal zero, with no arithmetic.
    jacobian = stored_values(source[source.index("def jacobian") : source.index("def time_derivative")])
    zero = next(line.split(" = ")[0] for line in source.splitlines() if "_precision(0.0)" in line)
    assert [k for k, value in jacobian.items() if value == zero] == [6, 8]  # entries (3, 1) and (3, 3)
    assert sorted(jacobian) == list(range(9))


@pytest.mark.parametrize("name", SYSTEMS)
def test_float32_derivatives_stay_float32(name):
    make, draw = SYSTEMS[name]
    system, _, single = compiled(make, np.float32)
    _, _, double = compiled(make)
    p = system.default_parameters
    rng = np.random.default_rng(12)
    t, y, v = rng.uniform(0, 10), draw(rng), rng.normal(size=system.n_states)
    single_arguments, double_arguments = in_both_precisions(t, y, p, v)
    for function in ("jvp", "jacobian", "time_derivative", "jacobian_diagonal"):
        count = 4 if function == "jvp" else 3
        got = evaluate(single, function, *single_arguments[:count])
        close(got, evaluate(double, function, *double_arguments[:count]), rtol=1e-5)
        assert float_types(getattr(single, function)) == {numba.types.float32}
    # The non-zeros alone, in the order of jacobian_sparsity, as the Jacobian has them.
    values = np.empty(len(system.jacobian_sparsity), np.float32)
    single.jacobian_values(*single_arguments[:3], values)
    jacobian = evaluate(single, "jacobian", *single_arguments[:3])
    np.testing.assert_array_equal(values, [jacobian[i, j] for i, j in system.jacobian_sparsity])
    assert float_types(single.jacobian_values) == {numba.types.float32}

    # Every number is a precision-cast module constant: function bodies hold
    # integers only, as subscripts, as the bound of the loop clearing an
    # output that is mostly zeros, and as the start and length of a run of
    # entries loaded or stored.
    module = ast.parse(system.derivative_source)
    functions = [node for node in module.body if isinstance(node, ast.FunctionDef)]
    assert [f.name for f in functions] == ["jvp", "jacobian", "time_derivative", "jacobian_diagonal",
                                           "jacobian_values"]
    for function in functions:
        indices = [n.slice for n in ast.walk(function) if isinstance(n, ast.Subscript)]
        calls = [n for n in ast.walk(function) if isinstance(n, ast.Call)]
        indices += [n.args[0] for n in calls if getattr(n.func, "id", "") == "range"]
        indices += run_bounds(function)
        for constant in (n for n in ast.walk(function) if isinstance(n, ast.Constant)):
            assert type(constant.value) is int and any(constant is s for s in indices)


def test_branches_are_differentiated_separately():
    system = ODESystem.from_equations(
        "dx = ifelse(x < 1, x + y, 2*y) + abs(y)\ndy = floor(x) + min(x, y)"
    )
    derivatives = system.make_derivative_functions(numba.njit, np.float64)
    expected = {
        (0.5, 2.0): [[1, 2], [1, 0]],  # x < 1, y > 0, min is x
        (3.0, -2.0): [[0, 1], [0, 1]],  # x >= 1, y < 0, min is y
    }
    for (x, y), jacobian in expected.items():
        got = evaluate(derivatives, "jacobian", 0.0, np.array([x, y]), np.empty(0))
        np.testing.assert_array_equal(got, jacobian)
    # The branches of ifelse(x < 1, x + y, x + 2*y) have the same derivative
    # in x: no test is left in the code for it.
    same = ODESystem.from_equations("dx = ifelse(x < 1, x + y, x + 2*y)\ndy = -y")
    source = same.derivative_source
    jacobian = stored_values(source[source.index("def jacobian(") : source.index("def time_derivative")])
    assert "_c0 = _precision(1.0)\n" in source and jacobian[0] == "_c0"


def python_systems():
    """Function-defined twins of the equation systems compared against."""

    def lorenz(t, y, p, dydt):
        dydt[0] = p[0] * (y[1] - y[0])
        dydt[1] = y[0] * (p[1] - y[2]) - y[1]
        dydt[2] = y[0] * y[1] - p[2] * y[2]

    def forced(t, y, p, dydt):
        dydt[0] = y[1]
        dydt[1] = -p[0] * y[0] - p[1] * y[1] * y[1] * y[1] + p[2] * np.cos(p[3] * t)

    return [
        (lorenz, examples.lorenz, SYSTEMS["lorenz"][1]),
        (forced, forced_oscillator, SYSTEMS["forced_oscillator"][1]),
    ]


@pytest.mark.parametrize("index", range(2))
def test_finite_differences_match_generated_derivatives(index):
    rhs, make_twin, draw = python_systems()[index]
    twin, _, exact = compiled(make_twin)
    system = ODESystem.from_function(rhs, twin.state_names, twin.parameter_names)
    assert system.derivative_source is None
    dxdt = system.make_device_functions(numba.njit, np.float64).dxdt
    approximate = system.make_derivative_functions(numba.njit, np.float64, dxdt=dxdt)
    assert approximate.jacobian_diagonal is None  # n calls to dxdt: not offered
    p = twin.default_parameters
    rng = np.random.default_rng(13)
    for _ in range(5):
        t, y, v = rng.uniform(0, 10), draw(rng), rng.normal(size=system.n_states)
        for name, extra in [("jvp", [v]), ("jacobian", []), ("time_derivative", [])]:
            got = evaluate(approximate, name, t, y, p, *extra)
            # A forward difference errs by about h |second derivative| / 2
            # with h ~ sqrt(eps) max(1, |t|): an absolute error set by the
            # O(1) curvature of these systems, so a derivative that happens
            # to be small (the forcing's cos near an extremum) is compared
            # on that scale, not its own (seen: 1.3e-7 on a row of 0.05).
            close(got, evaluate(exact, name, t, y, p, *extra), rtol=1e-6, floor=1.0)
    zero = evaluate(approximate, "jvp", 1.0, draw(rng), p, np.zeros(system.n_states))
    np.testing.assert_array_equal(zero, 0.0)


def forward_difference_bounds(exact, dxdt, t, y, p, v, precision):
    """The error bound of each finite-difference function, from ``eps`` and the curvature scale.

    A forward difference with step ``h`` along a direction ``d`` errs by
    rounding, ``eps F_i / h``, where ``F_i`` is the size of the terms summed
    in ``f_i`` (and in the shifted point ``y + h d``), taken as ``|f_i| +
    sum_j |J_ij| max(1, |y_j|)``; and by truncation, ``h |d^T H_i d| / 2 <=
    h |d|**2`` for Lorenz, whose second derivatives are 0 and -1, 1 in two
    places of one row.  The steps ``h`` are those of
    :func:`~batchode.systems.derivatives.finite_difference_functions`.
    """
    eps = float(np.finfo(precision).eps)
    jacobian = evaluate(exact, "jacobian", t, y, p)
    f = np.empty(y.size)
    dxdt(t, y, p, f)
    terms = np.abs(f) + np.abs(jacobian) @ np.maximum(1.0, np.abs(y))
    v_size = np.abs(v).max()
    steps = {"jvp": np.sqrt(eps) * (1 + np.abs(y).max()) / v_size,
             "jacobian": np.sqrt(eps) * np.maximum(1.0, np.abs(y))[None, :],
             "time_derivative": np.sqrt(eps) * max(1.0, abs(t))}
    curvature = {"jvp": v_size**2, "jacobian": 1.0, "time_derivative": 0.0}  # autonomous: no t in f
    return {name: eps * (terms[:, None] if name == "jacobian" else terms) / h + h * curvature[name]
            for name, h in steps.items()}


def test_finite_differences_in_float32():
    rhs, make_twin, draw = python_systems()[0]
    twin, functions, exact = compiled(make_twin)
    system = ODESystem.from_function(rhs, twin.state_names, twin.parameter_names)
    approximate = system.make_derivative_functions(numba.njit, np.float32)
    rng = np.random.default_rng(14)
    single_arguments, double_arguments = in_both_precisions(
        1.0, draw(rng), twin.default_parameters, rng.normal(size=3)
    )
    # Compared with each row's largest entry, as before, the float32 error
    # reached 22 sqrt(eps) = 7.6e-3 in 5000 draws (a draw at 3.2e-3 failed
    # the old bound of 3e-3): rounding dominates where f sums large terms
    # that cancel, x (rho - z) at |x| ~ 20, which the row's entries do not
    # show.  Against the estimate of forward_difference_bounds the error
    # stayed below 0.87 of it in those draws; 4 leaves room for other points.
    bounds = forward_difference_bounds(exact, functions.dxdt, *double_arguments, np.float32)
    for function in ("jvp", "jacobian", "time_derivative"):
        count = 4 if function == "jvp" else 3
        got = evaluate(approximate, function, *single_arguments[:count])
        error = np.abs(got - evaluate(exact, function, *double_arguments[:count]))
        assert np.all(error <= 4 * bounds[function]), f"{function}: {error} > 4 x {bounds[function]}"
        assert float_types(getattr(approximate, function)) == {numba.types.float32}


def test_supplied_derivatives_are_used_and_keyed():
    rhs, make_twin, _ = python_systems()[0]
    twin, _, exact = compiled(make_twin)

    def doubled_jacobian(t, y, p, out, work):
        # Deliberately twice the true Jacobian, to show which one is used.
        out[0], out[1], out[2] = -2 * p[0], 2 * p[0], 0.0
        out[3], out[4], out[5] = 2 * (p[1] - y[2]), -2.0, -2 * y[0]
        out[6], out[7], out[8] = 2 * y[1], 2 * y[0], -2 * p[2]

    def plain():
        return ODESystem.from_function(rhs, twin.state_names, twin.parameter_names)

    supplied = ODESystem.from_function(
        rhs, twin.state_names, twin.parameter_names, jacobian=numba.njit(doubled_jacobian)
    )
    assert supplied.user_jacobian is doubled_jacobian and supplied.user_jvp is None
    key = supplied.cache_key
    assert "doubled_jacobian" in key and key.count("finite-difference") == 2
    assert plain().cache_key.count("finite-difference") == 3
    assert plain().cache_key == plain().cache_key != key

    derivatives = supplied.make_derivative_functions(numba.njit, np.float64)
    t, y, v = 0.5, np.array([1.0, -2.0, 3.0]), np.array([0.3, 0.1, -1.0])
    p = twin.default_parameters
    np.testing.assert_array_equal(
        evaluate(derivatives, "jacobian", t, y, p), 2 * evaluate(exact, "jacobian", t, y, p)
    )
    # The jvp is not given, so it is still the finite difference of rhs.
    close(evaluate(derivatives, "jvp", t, y, p, v), evaluate(exact, "jvp", t, y, p, v), rtol=1e-6)
    with pytest.raises(TypeError, match="jvp must be a function"):
        ODESystem.from_function(rhs, ["x"], jvp=3)


def test_system_factory_builds_derivatives_on_first_use(monkeypatch):
    calls = []
    original = ODESystem.make_derivative_functions
    monkeypatch.setattr(
        ODESystem, "make_derivative_functions", lambda *a, **k: calls.append(1) or original(*a, **k)
    )
    # Equations no other test uses, so that no cached build exists yet.
    system = ODESystem.from_equations("dx = -a*x*y\ndy = a*x - y*t", parameters=["a"])
    factory = SystemFactory(system, precision=np.float64, backend="cpu")
    t, y, p = 2.0, np.array([3.0, 5.0]), np.array([0.5])
    dydt = np.empty(2)
    factory.device_function(t, y, p, dydt)
    assert calls == []
    out, work = np.empty(4), np.empty(4)
    factory.jacobian_function(t, y, p, out, work)
    np.testing.assert_array_equal(out, [-2.5, -1.5, 0.5, -2.0])
    factory.jvp_function(t, y, p, np.array([0.0, 1.0]), dydt, work)
    np.testing.assert_array_equal(dydt, [-1.5, -2.0])
    factory.time_derivative_function(t, y, p, dydt, work)
    np.testing.assert_array_equal(dydt, [0.0, -5.0])
    assert calls == [1]  # built once, shared by the three properties


def test_finite_differences_compile_for_cuda_in_float32():
    """The fallbacks call a CUDA device dxdt and stay single precision (PTX, no GPU needed)."""
    cuda = pytest.importorskip("numba.cuda")

    def rhs(t, y, p, dydt):
        dydt[0] = y[1]
        dydt[1] = p[0] * (p[1] - y[0] * y[0]) * y[1] - y[0] * t

    system = ODESystem.from_function(rhs, ["x", "v"], ["mu", "a"])
    decorator = lambda f: cuda.jit(device=True, inline="always")(f)  # noqa: E731
    dxdt = system.make_device_functions(decorator, np.float32).dxdt
    plain = system.make_derivative_functions(lambda f: f, np.float32, dxdt=dxdt)
    scalar, array = numba.types.float32, numba.types.float32[::1]
    for function, n_arrays in [(plain.jvp, 5), (plain.jacobian, 4), (plain.time_derivative, 4)]:
        try:
            signature = (scalar, *[array] * n_arrays)
            ptx, _ = cuda.compile_ptx(function, signature, device=True, cc=(8, 0))
        except Exception as error:  # no CUDA toolkit, or the simulator is enabled
            pytest.skip(f"cannot compile PTX here: {error}")
        assert ".f32" in ptx and ".f64" not in ptx
