"""ODESystem: definitions, compiled functions, errors, safety and cache keys."""

import math
import os
import re

import numba
import numpy as np
import pytest
import sympy

from generated_code import stored_values

from batchode.systems import ODESystem
from batchode.systems import examples

def lorenz_numpy(state, parameters):
    x, y, z = state
    sigma, rho, beta = parameters
    return np.array([sigma * (y - x), x * (rho - z) - y, x * y - beta * z])


def float_types(dispatcher):
    """The float types numba inferred for every variable of a compiled function."""
    (signature,) = dispatcher.signatures
    typemap = dispatcher.overloads[signature].fndesc.typemap
    return {t for t in typemap.values() if isinstance(t, numba.types.Float)}


def test_lorenz_float64_matches_numpy():
    system = examples.lorenz()
    dxdt = system.make_device_functions(numba.njit, np.float64).dxdt
    dydt = np.empty(3)
    rng = np.random.default_rng(20240601)
    for _ in range(20):
        state = rng.uniform(-30, 30, 3)
        parameters = rng.uniform(0.1, 30, 3)
        dxdt(np.float64(0.0), state, parameters, dydt)
        np.testing.assert_allclose(dydt, lorenz_numpy(state, parameters), rtol=1e-14)


def test_lorenz_float32_stays_float32():
    system = examples.lorenz()
    dxdt = system.make_device_functions(numba.njit, np.float32).dxdt
    dydt = np.empty(3, np.float32)
    rng = np.random.default_rng(20240602)
    for _ in range(20):
        state = rng.uniform(-30, 30, 3).astype(np.float32)
        parameters = rng.uniform(0.1, 30, 3).astype(np.float32)
        dxdt(np.float32(0.0), state, parameters, dydt)
        expected = lorenz_numpy(state.astype(np.float64), parameters.astype(np.float64))
        # Float32 rounding errs by a few eps (1.2e-7) of the size of the
        # terms summed, not of their sum: |x| (|rho| + |z|) + |y| for the
        # second equation.  (lorenz_numpy of the absolute values, the scale
        # once used here, subtracts them too: |rho| - |z| near 0 made it ~1
        # while the terms were ~900, and a fresh seed failed.)
        x, y, z = np.abs(state.astype(np.float64))
        sigma, rho, beta = np.abs(parameters.astype(np.float64))
        scale = np.array([sigma * (y + x), x * (rho + z) + y, x * y + beta * z])
        assert np.all(np.abs(dydt - expected) <= 1e-6 * scale)
    assert float_types(dxdt) == {numba.types.float32}


def test_system_metadata():
    system = examples.lorenz()
    assert system.state_names == ("x", "y", "z")
    assert system.parameter_names == ("sigma", "rho", "beta")
    assert (system.n_states, system.n_parameters, system.n_observables) == (3, 3, 0)
    assert system.observable_names == system.constant_names == ()
    np.testing.assert_array_equal(system.default_parameters, [10.0, 28.0, 8.0 / 3.0])
    np.testing.assert_array_equal(system.default_initial_state, [1.0, 0.0, 0.0])
    assert system.default_parameters.dtype == np.float64
    assert repr(system) == "ODESystem(states=('x', 'y', 'z'), parameters=('sigma', 'rho', 'beta'))"
    assert isinstance(hash(system), int)


def test_missing_defaults_are_nan():
    system = ODESystem.from_equations("dx = -k*x + c", ["k", "c"])
    assert np.isnan(system.default_parameters).all()
    assert np.isnan(system.default_initial_state).all()
    named = ODESystem.from_equations("dx = y\ndy = -x", initial_state=["y", "x"])
    assert named.state_names == ("y", "x")
    assert np.isnan(named.default_initial_state).all()


def test_examples_compile_and_match_their_formulas():
    state = np.array([0.7, -0.3])
    cases = [
        (examples.exponential_decay(), lambda y, p: [-p[0] * y[0]]),
        (examples.harmonic_oscillator(), lambda y, p: [y[1], -p[0] ** 2 * y[0]]),
        (examples.van_der_pol(), lambda y, p: [y[1], p[0] * (1 - y[0] ** 2) * y[1] - y[0]]),
    ]
    for system, formula in cases:
        dxdt = system.make_device_functions(numba.njit, np.float64).dxdt
        y = state[: system.n_states].copy()
        p = system.default_parameters * 1.5
        dydt = np.empty(system.n_states)
        dxdt(0.0, y, p, dydt)
        np.testing.assert_allclose(dydt, formula(y, p), rtol=1e-14)


def test_observables_in_any_order():
    system = ODESystem.from_equations(
        """
        # e is used before it is defined, and uses f, defined after it
        dx = -k*x + e
        dy = e - y*t

        e = 2*f
        f = sin(x) + y**2
        """,
        parameters={"k": 0.5},
    )
    assert system.state_names == ("x", "y")
    assert system.observable_names == ("e", "f")
    functions = system.make_device_functions(numba.njit, np.float64)
    t, y, p = 0.3, np.array([0.4, -1.3]), np.array([0.5])
    f = np.sin(y[0]) + y[1] ** 2
    dydt, out = np.empty(2), np.empty(2)
    functions.dxdt(t, y, p, dydt)
    functions.observables(t, y, p, out)
    np.testing.assert_allclose(dydt, [-0.5 * y[0] + 2 * f, 2 * f - y[1] * t], rtol=1e-14)
    np.testing.assert_allclose(out, [2 * f, f], rtol=1e-14)


def test_functions_and_ifelse():
    system = ODESystem.from_equations(
        [
            "dx = ifelse(x < c, exp(-x), log(x)) + atan2(y, x) + floor(y) + ceil(x)",
            "dy = min(x, y, 0.5) + max(x, y) + abs(y) + pow(x, 2.5) + sqrt(x) + x**-1",
            "dz = tanh(x) + sinh(y) + cosh(x) + asin(c/2) + acos(c/3) + atan(y) + tan(x)",
        ],
        initial_state=["x", "y", "z"],  # no equation reads z: dz could be an observable
        constants={"c": 1.25},
    )
    dxdt = system.make_device_functions(numba.njit, np.float64).dxdt
    for x, y in [(0.7, -0.4), (2.3, 1.6)]:
        dydt = np.empty(3)
        dxdt(0.0, np.array([x, y, 0.0]), np.empty(0), dydt)
        expected = [
            (np.exp(-x) if x < 1.25 else np.log(x)) + np.arctan2(y, x) + np.floor(y) + np.ceil(x),
            min(x, y, 0.5) + max(x, y) + abs(y) + x**2.5 + np.sqrt(x) + 1 / x,
            np.tanh(x) + np.sinh(y) + np.cosh(x) + np.arcsin(0.625) + np.arccos(1.25 / 3)
            + np.arctan(y) + np.tan(x),
        ]
        np.testing.assert_allclose(dydt, expected, rtol=1e-14)


def test_from_function():
    def decay(t, y, p, dydt):
        dydt[0] = -p[0] * y[0]
        dydt[1] = p[0] * y[0] - p[1] * y[1]

    system = ODESystem.from_function(
        decay, ["a", "b"], {"k1": 1.0, "k2": 0.5}, initial_state=[1.0, 0.0]
    )
    assert (system.n_states, system.n_parameters, system.n_observables) == (2, 2, 0)
    assert system.generated_source is None and system.symbolic is None
    np.testing.assert_array_equal(system.default_initial_state, [1.0, 0.0])
    assert "decay" in repr(system)
    functions = system.make_device_functions(numba.njit, np.float64)
    dydt = np.empty(2)
    functions.dxdt(0.0, np.array([2.0, 3.0]), np.array([1.0, 0.5]), dydt)
    np.testing.assert_allclose(dydt, [-2.0, 0.5])
    functions.observables(0.0, np.array([2.0, 3.0]), np.array([1.0, 0.5]), np.empty(0))

    # A numba dispatcher works too: its Python function is what gets compiled.
    jitted = ODESystem.from_function(numba.njit(decay), ["a", "b"], ["k1", "k2"])
    assert jitted.rhs_function is decay
    assert jitted.cache_key == system.cache_key


def test_from_function_initial_state_by_name_and_errors():
    def rhs(t, y, p, dydt):
        dydt[0] = y[1]
        dydt[1] = -y[0]

    system = ODESystem.from_function(rhs, ["x", "v"], [], initial_state={"x": 1.0})
    np.testing.assert_array_equal(system.default_initial_state, [1.0, np.nan])
    with pytest.raises(ValueError, match="unknown states"):
        ODESystem.from_function(rhs, ["x", "v"], [], initial_state={"q": 1.0})
    with pytest.raises(ValueError, match="1 values for 2 states"):
        ODESystem.from_function(rhs, ["x", "v"], [], initial_state=[1.0])
    with pytest.raises(ValueError, match="'x' is listed twice"):
        ODESystem.from_function(rhs, ["x", "v"], ["x"])


def test_cache_key():
    def make(equations="dx = -k*x + c", constants=None):
        return ODESystem.from_equations(equations, ["k"], constants=constants or {"c": 1.5})

    assert make().cache_key == make().cache_key
    assert make() == make() and hash(make()) == hash(make())
    assert make().cache_key != make("dx = -k*x - c").cache_key
    assert make().cache_key != make(constants={"c": 2.5}).cache_key
    assert make() != make(constants={"c": 2.5})

    def rhs_a(t, y, p, dydt):
        dydt[0] = -y[0]

    def rhs_b(t, y, p, dydt):
        dydt[0] = y[0]

    key_a = ODESystem.from_function(rhs_a, ["x"], []).cache_key
    assert key_a == ODESystem.from_function(rhs_a, ["x"], []).cache_key
    assert key_a != ODESystem.from_function(rhs_b, ["x"], []).cache_key
    assert "rhs_a" in key_a


def test_precision_is_checked():
    with pytest.raises(ValueError, match="precision"):
        examples.lorenz().make_device_functions(numba.njit, np.int32)


@pytest.mark.parametrize(
    ("equations", "options", "message"),
    [
        ("dx = -x\ndy = (y +", {}, "line 2 'dy = (y +': cannot parse"),
        (
            "dx = -x\n\ndy = -kk*y",
            {"parameters": ["k"]},
            "line 3 'dy = -kk*y': unknown symbol 'kk'; did you mean 'k'",
        ),
        (["dx = -x", "dy = q"], {}, "equation 2 'dy = q': unknown symbol 'q'"),
        ("dx = -x", {"initial_state": {"x": 1, "y": 2}}, "state 'y' has no equation 'dy = ...'"),
        ("dx = -x", {"parameters": ["x"]}, "'x' is defined both as a parameter and as a state"),
        ("dx = -x", {"constants": {"x": 1.0}}, "'x' is defined both as a constant and as a state"),
        ("dx = -x\na = 1", {"parameters": ["a"]}, "'a' is defined both as a parameter and as an"),
        ("dx = -x\ndx = x", {}, "'dx' is defined twice: line 1 'dx = -x' and line 2 'dx = x'"),
        ("dx = gamma(x)", {}, "'dx = gamma(x)': unsupported function call 'gamma(x)'"),
        ("dx = x % 2", {}, "'dx = x % 2': unsupported operator in 'x % 2'"),
        ("dx = x // 2", {}, "unsupported operator in 'x // 2'"),
        ("dx = -x\nx.a = 1", {}, "line 2 'x.a = 1': the left-hand side must be a single name"),
        ("dx, dy = y, x", {}, "the left-hand side must be a single name"),
        ("dx = dy = x", {}, "the left-hand side must be a single name"),
        ("dx += 1", {}, "'dx += 1': not an equation"),
        ("dx == x", {}, "'dx == x': not an equation"),
        ("dx = a\na = b + x\nb = a", {}, ("cycle: line ", "line 2 'a = b + x'", "line 3 'b = a'")),
        ("dx = a\na = a + 1", {}, "in a cycle: line 2 'a = a + 1'"),
        ("a = 1", {}, "no state equations"),
        ("dx = -x", {"parameters": ["t"]}, "parameter name 't' is reserved for time"),
        ("dx = -x\nsin = x", {}, "observable name 'sin' is reserved for a function"),
        ("dx = -x", {"parameters": ["_k"]}, "names starting with '_' are reserved"),
        ("dx = -x", {"parameters": ["1k"]}, "parameter name '1k' is not a valid identifier"),
        ("dx = x < 1", {}, "comparison 'x < 1' is only allowed as the condition of ifelse"),
        ("dx = ifelse(x, 1, 2)", {}, "condition 'x' of ifelse must be a single comparison"),
        ("dx = ifelse(0 < x < 1, 1, 2)", {}, "must be a single comparison"),
        ("dx = ifelse(x < 1, 2)", {}, "ifelse takes 3 arguments"),
        ("dx = sin(x, 1)", {}, "sin takes 1 argument"),
        ("dx = min(x)", {}, "min takes at least 2 argument"),
        ("dx = sin", {}, "function 'sin' used without calling it"),
        ("dx = max(x, *[1])", {}, "only positional arguments"),
        ("dx = sqrt(-1)", {}, "'dx = sqrt(-1)': 'sqrt(-1)' is the complex number I; expected a real"),
        ("dx = x/0", {}, "non-finite"),
        ("dx = 10**10**10", {}, "exponent too large"),
        ("dx = 'x'", {}, "'dx = 'x'': unsupported expression ''x'' (Constant)"),
        ("dx = True", {}, "unsupported constant True"),
        ("dx = 1j", {}, "unsupported expression '1j'"),
        ("dx = x if x > 0 else -x", {}, "unsupported expression 'x if x > 0 else -x' (IfExp)"),
    ],
)
def test_errors_quote_the_offending_text(equations, options, message):
    first, *others = (message,) if isinstance(message, str) else message
    with pytest.raises(ValueError, match=re.escape(first)) as error:
        ODESystem.from_equations(equations, **options)
    for fragment in others:  # parts whose order may vary
        assert fragment in str(error.value)


@pytest.mark.parametrize(
    "equation",
    [
        "dx = __import__('os').system('echo hi')",
        "dx = x.real",
        "dx = (lambda: 1)()",
        "dx = exec('1')",
        "dx = eval('x')",
        "dx = open('f')",
        "dx = [x][0]",
        "dx = x[0]",
        "dx = {'a': x}",
        "dx = __builtins__",
        "dx = (y := 1)",
        "dx = sin.__call__(x)",
    ],
)
def test_hostile_text_is_rejected_without_running(monkeypatch, equation):
    calls = []
    monkeypatch.setattr(os, "system", lambda *args: calls.append(args))
    with pytest.raises(ValueError, match=re.escape(f"'{equation}'")):
        ODESystem.from_equations(equation)
    assert calls == []


def test_constants_are_baked_in():
    system = ODESystem.from_equations("dx = -g*x", constants={"g": math.pi})
    assert system.constant_names == ("g",)
    assert system.n_parameters == 0
    dxdt = system.make_device_functions(numba.njit, np.float64).dxdt
    dydt = np.empty(1)
    dxdt(0.0, np.array([2.0]), np.empty(0), dydt)
    assert dydt[0] == -math.pi * 2.0


def test_symbolic_form_supports_jacobians():
    system = ODESystem.from_equations(
        """
        dx = ifelse(x < 1, x**2, 3*x) + a
        dy = -y
        a = ifelse(y > x, x*y, 0)
        """
    )
    model = system.symbolic
    x, y = model.states
    jacobian = sympy.Matrix(model.derivatives).jacobian(model.states)
    point = {x: 0.5, y: 2.0}
    assert jacobian.xreplace(point) == sympy.Matrix([[3.0, 0.5], [0, -1]])
    assert not jacobian.has(sympy.Derivative)


def test_condition_that_sends_sympy_piecewise_into_recursion():
    # sympy.Piecewise recurses forever on this condition; ifelse must not.
    system = ODESystem.from_equations(
        "dx = ifelse(exp(-2*c**2) <= x - 2*c, x, 3)", constants={"c": 0.5}
    )
    dxdt = system.make_device_functions(lambda f: f, np.float64).dxdt
    dydt = np.empty(1)
    for x, expected in [(2.0, 2.0), (0.0, 3.0)]:
        dxdt(0.0, np.array([x]), np.empty(0), dydt)
        assert dydt[0] == expected


def test_non_finite_constants():
    system = ODESystem.from_equations(
        "dx = min(x, inf) + max(x, -inf)", constants={"inf": math.inf, "float": 1.0}
    )
    dxdt = system.make_device_functions(numba.njit, np.float32).dxdt
    dydt = np.empty(1, np.float32)
    dxdt(np.float32(0), np.array([2.0], np.float32), np.empty(0, np.float32), dydt)
    assert dydt[0] == 4.0


def test_indentation_and_continuation_lines():
    system = ODESystem.from_equations(
        """dx = -k*x
        dy = (x -
              y)  # a comment
        """,
        ["k"],
    )
    assert system.state_names == ("x", "y")
    source = system.generated_source
    assert stored_values(source[source.index("def dxdt"):source.index("def observables")])[1] == "x - y"


def test_pleiades_matches_scipy_and_conserves_energy():
    """``examples.pleiades()`` at t = 3 agrees with scipy on the same equations and keeps its energy."""
    from scipy.integrate import solve_ivp as scipy_solve_ivp

    import batchode

    system = examples.pleiades()
    masses = np.arange(1.0, 8.0)

    def rhs(t, state):
        x, y = state[:7], state[7:14]
        dx, dy = x[None, :] - x[:, None], y[None, :] - y[:, None]
        distance2 = dx ** 2 + dy ** 2
        np.fill_diagonal(distance2, np.inf)
        weight = masses / distance2 ** 1.5
        return np.concatenate([state[14:], (weight * dx).sum(axis=1), (weight * dy).sum(axis=1)])

    def energy(state):
        x, y, vx, vy = state.reshape(4, 7)
        i, j = np.triu_indices(7, k=1)
        return 0.5 * (masses * (vx ** 2 + vy ** 2)).sum() - (masses[i] * masses[j] / np.hypot(x[i] - x[j],
                                                                                             y[i] - y[j])).sum()

    start = system.default_initial_state
    assert system.n_states == 28
    result = batchode.solve_ivp(system, (0.0, 3.0), method="dop853", rtol=1e-10, atol=1e-10, backend="cpu",
                                save_time_series=False)
    reference = scipy_solve_ivp(rhs, (0.0, 3.0), start, method="DOP853", rtol=1e-13, atol=1e-13).y[:, -1]
    final = result.final_state[0]
    assert result.status[0] == 0
    np.testing.assert_allclose(final, reference, rtol=0, atol=1e-6)
    assert abs(energy(final) / energy(start) - 1) < 1e-8

