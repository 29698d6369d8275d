"""Values and Python-function systems checked when defined: defaults, and functions called once in Python."""

import math
import re
import warnings

import numba
import numpy as np
import pytest

from batchode.systems import ODESystem


# -- values -----------------------------------------------------------------------


@pytest.mark.parametrize("value, shown", [("abc", "'abc' (str) is not a number"), (1j, "1j (complex) is not a number"),
                                          ([1.0, 2.0], "[1.0, 2.0] (list) is not a number"),
                                          (True, "True (bool) is not a number"), (np.inf, "inf is not finite")])
def test_defaults_must_be_real_numbers(value, shown):
    with pytest.raises(ValueError, match=re.escape(f"parameter 'k': {shown}; expected a finite real number")):
        ODESystem.from_equations("dx = -k*x", parameters={"k": value})
    with pytest.raises(ValueError, match=re.escape(f"initial state 'x': {shown}; expected a finite real number")):
        ODESystem.from_equations("dx = -x", initial_state={"x": value})
    with pytest.raises(ValueError, match=re.escape(f"initial state 'x': {shown}")):
        ODESystem.from_function(writes_past_dydt, ["x"], initial_state=[value])  # refused before any call


def test_constants_must_be_real_numbers():
    message = "constant 'g': 'abc' (str) is not a number; expected a real number"
    with pytest.raises(ValueError, match=re.escape(message)):
        ODESystem.from_equations("dx = -g*x", constants={"g": "abc"})
    # Infinite constants are allowed (the generated code spells them through math).
    assert ODESystem.from_equations("dx = min(x, big)", constants={"big": np.inf}).constant_names == ("big",)


def test_none_nan_and_numpy_scalars_as_defaults():
    system = ODESystem.from_equations("dx = -k*x + c", parameters={"k": None, "c": np.float32(0.5)},
                                      initial_state={"x": np.array(2.0)})
    np.testing.assert_array_equal(system.default_parameters, [np.nan, 0.5])
    np.testing.assert_array_equal(system.default_initial_state, [2.0])


# -- Python-function systems --------------------------------------------------------


def writes_past_dydt(t, y, p, dydt):
    dydt[0] = -y[0]
    dydt[1] = y[0]  # one state only: compiled, this corrupts memory or crashes


def test_a_write_past_dydt_is_caught_before_compiling():
    with pytest.raises(ValueError) as error:
        ODESystem.from_function(numba.njit(writes_past_dydt), ["x"])
    message = str(error.value)
    assert message.startswith("rhs indexed past the end of an array when called once in Python as rhs(t, arrays "
                              "of exactly 1, 0, 1 entries): index 1 is out of bounds")
    assert "rhs(t, y, p, dydt) writing dydt[0 .. n_states - 1]" in message and "n_states = 1" in message


def test_reads_past_y_or_p_are_caught():
    def reads_p(t, y, p, dydt):
        dydt[0] = -p[1] * y[0]

    with pytest.raises(ValueError, match="rhs indexed past the end.*n_parameters = 1"):
        ODESystem.from_function(reads_p, ["x"], ["k"])


def scipy_style(t, y, p):
    return (y[1], -p[0] * y[0])


def scipy_style_array(t, y, p):
    return np.array([y[1], -p[0] * y[0]])


def in_place(t, y, p, dydt):
    dydt[0] = y[1]
    dydt[1] = -p[0] * y[0]


@pytest.mark.parametrize("returning", [scipy_style, scipy_style_array])
def test_a_function_returning_the_derivatives_is_wrapped(returning):
    system = ODESystem.from_function(returning, ["x", "v"], {"k": 4.0})
    assert system.rhs_returns and system.cache_key.endswith(":returns;jvp=finite-difference;"
                                                            "jacobian=finite-difference;"
                                                            "time_derivative=finite-difference")
    reference = ODESystem.from_function(in_place, ["x", "v"], {"k": 4.0})
    assert system.cache_key != reference.cache_key and not reference.rhs_returns
    y, p = np.array([0.5, -2.0]), np.array([4.0])
    for decorator in (lambda f: f, numba.njit):
        got, expected = np.empty(2), np.empty(2)
        system.make_device_functions(decorator, np.float64).dxdt(0.0, y, p, got)
        reference.make_device_functions(decorator, np.float64).dxdt(0.0, y, p, expected)
        np.testing.assert_array_equal(got, expected)
        jacobian = np.empty(4)
        system.make_derivative_functions(decorator, np.float64).jacobian(0.0, y, p, jacobian, np.empty(4))
        np.testing.assert_allclose(jacobian, [0.0, 1.0, -4.0, 0.0], atol=1e-6)


def test_a_returned_tuple_compiles_for_cuda_in_float32():
    cuda = pytest.importorskip("numba.cuda")
    system = ODESystem.from_function(scipy_style, ["x", "v"], ["k"])
    decorator = lambda f: cuda.jit(device=True, inline="always")(f)  # noqa: E731
    dxdt = system.make_device_functions(decorator, np.float32).dxdt
    array = numba.types.float32[::1]
    try:
        ptx, _ = cuda.compile_ptx(dxdt.py_func, (numba.types.float32, array, array, array), device=True, cc=(8, 0))
    except Exception as error:  # no CUDA toolkit, or the simulator is enabled
        pytest.skip(f"cannot compile PTX here: {error}")
    assert ".f64" not in ptx


@pytest.mark.parametrize("function, message", [
    (lambda t, y, p, dydt: np.array([y[1], -y[0]]),
     "rhs returned a ndarray and left dydt unwritten: expected rhs(t, y, p, dydt) writing dydt[0 .. n_states - 1], "
     "or rhs(t, y, p) returning n_states values (a function of four arguments must write into dydt)"),
    (lambda t, y, p: (y[1],), "rhs(t, y, p) returned 1 value(s) of shape (1,) for 2 states; expected rhs(t, y, p, "
                              "dydt)"),
    (lambda t, y, p: None, "rhs(t, y, p) returned None (NoneType), not real numbers; expected"),
    (lambda t, y, p: ("a", "b"), "rhs(t, y, p) returned ('a', 'b') (tuple), not real numbers"),
    (lambda t, y, p: (1.0, [1.0, 2.0]), "rhs(t, y, p) returned (1.0, [1.0, 2.0]) (tuple), not real numbers"),
    (lambda t, y, p, dydt: dydt.__setitem__(0, 1.0),
     "rhs did not write entry 1 of its output (1 of 2 entries unwritten at t=0.5); expected rhs(t, y, p, dydt)"),
    (lambda t, y, p, dydt: dydt.__setitem__(slice(None), 1j), "rhs raised TypeError"),
    (lambda t, y, p, dydt: dydt.__setitem__(slice(None), y[0] * 1j), "rhs raised ComplexWarning: Casting complex"),
    (lambda t, y, p, dydt: undefined_name, "rhs raised NameError: name 'undefined_name' is not defined"),  # noqa: F821
])
def test_functions_that_do_not_fill_dydt_are_refused(function, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        ODESystem.from_function(function, ["x", "v"])


@pytest.mark.parametrize("function, count", [(lambda t, y: y, 2), (lambda t, y, p, dydt, extra: None, 5)])
def test_a_function_of_another_signature_is_refused(function, count):
    with pytest.raises(TypeError, match=re.escape(f"rhs takes {count} arguments; expected rhs(t, y, p, dydt) "
                                                  "writing dydt[0 .. n_states - 1], or rhs(t, y, p) returning")):
        ODESystem.from_function(function, ["x"])


def test_a_nan_result_is_not_taken_for_an_unwritten_entry():
    def nan_where_undefined(t, y, p, dydt):
        dydt[0] = np.nan
        dydt[1] = -y[0]

    assert ODESystem.from_function(nan_where_undefined, ["x", "v"]).n_states == 2


def test_a_math_domain_error_at_the_check_point_only_warns():
    def logarithm(t, y, p, dydt):
        dydt[0] = math.log(y[0] - 1.0)  # y is 0.3 at the check point: NaN when compiled

    with pytest.warns(UserWarning, match="rhs was not checked for out-of-bounds writes.*ValueError: math domain"):
        system = ODESystem.from_function(logarithm, ["x"])
    assert system.n_states == 1


def test_derivative_functions_are_checked_too():
    def jacobian_past_the_end(t, y, p, out, work):
        for k in range(5):  # 2 states: 4 entries
            out[k] = 0.0

    def jvp_half_written(t, y, p, v, out, work):
        out[0] = v[1]

    with pytest.raises(ValueError, match=re.escape("jacobian indexed past the end of an array when called once in "
                                                   "Python as jacobian(t, arrays of exactly 2, 1, 4, 4 entries)")):
        ODESystem.from_function(in_place, ["x", "v"], ["k"], jacobian=jacobian_past_the_end)
    with pytest.raises(ValueError, match=re.escape("jvp did not write entry 1 of its output")):
        ODESystem.from_function(in_place, ["x", "v"], ["k"], jvp=jvp_half_written)
    with pytest.raises(TypeError, match=re.escape("time_derivative takes 4 arguments; expected time_derivative(t, y, "
                                                  "p, out, work)")):
        ODESystem.from_function(in_place, ["x", "v"], ["k"], time_derivative=lambda t, y, p, out: None)


def test_checking_calls_are_quiet():
    def divides(t, y, p, dydt):
        dydt[0] = 1.0 / (y[0] - y[0])  # inf from numpy, no warning expected from the check

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ODESystem.from_function(divides, ["x"])
