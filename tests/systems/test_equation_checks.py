"""Equations and names that used to be misread or to fail late: forms, built-ins, long sums, reserved names."""

import re

import numpy as np
import pytest

from batchode.systems import DerivativeFunctions, DeviceFunctions, ODESystem
from batchode.systems.parsing import GENERATED_NAMES


def evaluate(system, y, p=(), t=0.0):
    """``dxdt`` of ``system`` run as plain Python (the generated source, not compiled)."""
    dxdt = system.make_device_functions(lambda f: f, np.float64).dxdt
    dydt = np.full(system.n_states, np.nan)
    dxdt(np.float64(t), np.asarray(y, np.float64), np.asarray(p, np.float64), dydt)
    return dydt


# -- equation forms ---------------------------------------------------------------


def test_explicit_derivative_forms_are_synonyms_of_d_name():
    plain = ODESystem.from_equations("dx = -k*x + y\ndy = x - y", parameters=["k"])
    for text in ("dx/dt = -k*x + y\ndy/dt = x - y", "x' = -k*x + y\ny' = x - y",
                 "d x / dt = -k*x + y\ny′ = x - y", "x' = -k*x + y\ndy = x - y"):
        system = ODESystem.from_equations(text, parameters=["k"])
        assert system.state_names == ("x", "y")
        assert system.generated_source == plain.generated_source
    # An explicit form names a state even when nothing reads it.
    assert ODESystem.from_equations("x' = -x\ncost' = x**2").state_names == ("x", "cost")


def test_explicit_forms_are_quoted_as_written():
    with pytest.raises(ValueError, match=re.escape("line 2 'y' = q': unknown symbol 'q'")):
        ODESystem.from_equations("dx = -x\ny' = q")
    with pytest.raises(ValueError, match=re.escape("line 1 'dx/dt = sin': function 'sin'")):
        ODESystem.from_equations("dx/dt = sin")
    with pytest.raises(ValueError, match=re.escape("'x' = -x' and line 2 'dx = 1'")):
        ODESystem.from_equations("x' = -x\ndx = 1")  # two equations for one state
    with pytest.raises(ValueError, match=re.escape("line 2 'y' = x': 'y' is not one of the states ['x']")):
        ODESystem.from_equations("dx = -x\ny' = x", initial_state=["x"])


@pytest.mark.parametrize("equations, lhs, state", [
    ("dx = -k*x\ndecay = k*x", "decay", "ecay"),
    ("dx = v\ndv = -x\ndist = sqrt(x**2 + v**2)", "dist", "ist"),
    ("dx = 1\ndy = 2", "dx", "x"),  # two constant rates: states, or observables?
    ("dx = -x\ndcost = x**2", "dcost", "cost"),
])
def test_d_prefix_of_a_name_nothing_reads_is_ambiguous(equations, lhs, state):
    with pytest.raises(ValueError) as error:
        ODESystem.from_equations(equations, parameters={"k": 1.0})
    message = str(error.value)
    assert f"is '{lhs}' the derivative of a state '{state}' (which no equation uses) or an observable" in message
    assert "'dx/dt = expression' or \"x' = expression\"" in message and "initial_state" in message


def test_d_prefix_is_a_derivative_when_that_is_the_only_reading():
    # Something reads x: dx is its derivative, and decay (declared states) an observable.
    system = ODESystem.from_equations("dx = -k*x\ndecay = k*x", parameters={"k": 2.0}, initial_state=["x"])
    assert (system.state_names, system.observable_names) == (("x",), ("decay",))
    # The one equation that could define a state does, read or not.
    assert ODESystem.from_equations("dx = 1").state_names == ("x",)
    assert ODESystem.from_equations("dx = 1\nrate = 2*t").observable_names == ("rate",)
    # dt cannot be a derivative (t is time): an observable.
    system = ODESystem.from_equations("dx = -x*dt\ndt = 0.5")
    assert (system.state_names, system.observable_names) == (("x",), ("dt",))


def test_pi_and_e_are_built_in_unless_a_name_shadows_them():
    system = ODESystem.from_equations("dx = pi*x + e")
    np.testing.assert_allclose(evaluate(system, [2.0]), [2 * np.pi + np.e], rtol=1e-15)
    shadowed = ODESystem.from_equations("dx = pi*x + e", parameters=["e"], constants={"pi": 3.0})
    np.testing.assert_allclose(evaluate(shadowed, [2.0], [0.5]), [6.5], rtol=1e-15)
    state = ODESystem.from_equations("de = -e")
    assert state.state_names == ("e",)
    np.testing.assert_array_equal(evaluate(state, [4.0]), [-4.0])


def test_a_sum_of_1000_terms_parses_and_evaluates():
    # Once a RecursionError: the parse tree of a sum is as deep as its terms are many.
    terms = " + ".join(f"sin({i}*x)" for i in range(1, 1001))
    system = ODESystem.from_equations(f"dx = {terms} - x*y\ndy = " + " - ".join(f"{i}*y" for i in range(1000)))
    x, y = 0.3, 0.2
    expected = [sum(np.sin(i * x) for i in range(1, 1001)) - x * y, -sum(range(1000)) * y]
    np.testing.assert_allclose(evaluate(system, [x, y]), expected, rtol=1e-12)
    jacobian = np.empty(4)
    system.make_derivative_functions(lambda f: f, np.float64).jacobian(
        np.float64(0.0), np.array([x, y]), np.empty(0), jacobian, np.empty(4))
    np.testing.assert_allclose(jacobian[0], sum(i * np.cos(i * x) for i in range(1, 1001)) - y, rtol=1e-12)


def test_operator_chains_keep_their_meaning():
    # The chain walk groups runs of + - and runs of *; the rest in order.
    system = ODESystem.from_equations(
        "dx = x - y - 2*x*y/3*x + y**2**0.5 - 1/x/y*2 + x\ndy = 2 - (x - y) * 3 * x / y ** 2",
        initial_state=["x", "y"])
    x, y = 1.7, 0.6
    expected = [x - y - 2 * x * y / 3 * x + y ** 2 ** 0.5 - 1 / x / y * 2 + x, 2 - (x - y) * 3 * x / y ** 2]
    np.testing.assert_allclose(evaluate(system, [x, y]), expected, rtol=1e-14)


def test_a_complex_number_is_refused_quoting_the_equation():
    with pytest.raises(ValueError) as error:
        ODESystem.from_equations("dx = -x\ndy = (-8)**(1/3) * y")
    message = str(error.value)
    assert message.startswith("line 2 'dy = (-8)**(1/3) * y': '(-8) ** (1 / 3)' is the complex number")
    assert "expected a real value" in message and "-(8**(1/3))" in message
    np.testing.assert_allclose(evaluate(ODESystem.from_equations("dx = -(8**(1/3))"), [0.0]), [-2.0])


# -- names ------------------------------------------------------------------------


def test_names_equal_after_nfkc_normalisation_are_refused():
    # Python reads the fullwidth ｋ in the equation as k: it used to use k silently.
    with pytest.raises(ValueError, match="parameter name 'ｋ' and parameter name 'k' are the same name 'k' after "
                                         "Unicode NFKC normalisation"):
        ODESystem.from_equations("dx = -ｋ*x + k", parameters={"k": 1.0, "ｋ": 2.0})
    with pytest.raises(ValueError, match="constant name 'ｋ' and parameter name 'k' are the same name"):
        ODESystem.from_equations("dx = -k*x", parameters=["k"], constants={"ｋ": 2.0})
    # Alone, such a name could never be referred to: refused with its normal form.
    with pytest.raises(ValueError, match="parameter name 'µ' is not in Unicode normal form NFKC: Python reads it "
                                         "as 'μ', so equations cannot refer to it; use 'μ'"):
        ODESystem.from_equations("dx = -µ*x", parameters=["µ"])
    with pytest.raises(ValueError, match="state name 'ｘ' is not in Unicode normal form NFKC"):
        ODESystem.from_function(lambda t, y, p, dydt: None, ["ｘ"])
    assert ODESystem.from_equations("dx = -μ*x", parameters=["μ"]).parameter_names == ("μ",)


def test_generated_names_are_the_generated_functions():
    assert GENERATED_NAMES == set(DeviceFunctions._fields) | set(DerivativeFunctions._fields)


@pytest.mark.parametrize("name", sorted(GENERATED_NAMES))
@pytest.mark.parametrize("kind", ["constant", "parameter", "observable", "state"])
def test_names_of_generated_code_are_reserved(name, kind):
    # A constant named dxdt used to pass the name check and then fail to compile.
    options = {"constant": dict(constants={name: 1.0}), "parameter": dict(parameters=[name]),
               "observable": dict(initial_state=["x"]), "state": dict(initial_state=["x", name])}[kind]
    equations = {"observable": f"dx = -x\n{name} = x", "state": f"dx = -x\nd{name} = x"}.get(kind, f"dx = -{name}*x")
    with pytest.raises(ValueError) as error:
        ODESystem.from_equations(equations, **options)
    message = str(error.value)
    assert message.startswith(f"{kind} name '{name}' is reserved for generated code; the reserved names are 't'")
    assert all(repr(reserved) in message for reserved in [*GENERATED_NAMES, "sin", "ifelse"])
