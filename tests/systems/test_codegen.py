"""The generated source: float32 purity, power expansion, and agreement with numpy."""

import ast

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generated_code import loaded_names, run_bounds

from batchode.systems import ODESystem

LITERAL_HEAVY = """
dx = 2.5*x - x**3/3 + c*y + 0.1 + e
dy = -x + ifelse(y > 0.5, y**2, 1 - y) + sqrt(x*x + 1) + 2**y + x**1.5
e = exp(-t/4) * sin(3*x)
"""


def test_literals_are_precision_cast_names():
    source = ODESystem.from_equations(LITERAL_HEAVY, constants={"c": 1.1}).generated_source
    module = ast.parse(source)
    functions = [node for node in module.body if isinstance(node, ast.FunctionDef)]
    assert [f.name for f in functions] == ["dxdt", "observables"]
    for function in functions:
        constants = [n for n in ast.walk(function) if isinstance(n, ast.Constant)]
        assert constants and all(type(n.value) is int for n in constants)
        # Indices only: an entry's, or a run's start and length in _load and _store.
        indices = [n.slice for n in ast.walk(function) if isinstance(n, ast.Subscript)]
        indices += run_bounds(function)
        assert all(any(c is index for index in indices) for c in constants)
    for statement in module.body:
        if isinstance(statement, ast.Assign):
            value = statement.value
            assert isinstance(value, ast.Call) and value.func.id == "_precision"
            assert isinstance(value.args[0], ast.Constant)


def test_float32_code_has_only_float32_values():
    system = ODESystem.from_equations(LITERAL_HEAVY, constants={"c": 1.1})
    functions = system.make_device_functions(numba.njit, np.float32)
    reference = system.make_device_functions(lambda f: f, np.float64)
    rng = np.random.default_rng(7)
    for _ in range(10):
        t = np.float32(rng.uniform(0, 5))
        y = rng.uniform(0.1, 2, 2).astype(np.float32)
        for name, size in [("dxdt", 2), ("observables", 1)]:
            got, expected = np.empty(size, np.float32), np.empty(size)
            getattr(functions, name)(t, y, np.empty(0, np.float32), got)
            getattr(reference, name)(np.float64(t), y.astype(np.float64), np.empty(0), expected)
            np.testing.assert_allclose(got, expected, rtol=2e-5, atol=1e-5)
    for dispatcher in functions:
        (signature,) = dispatcher.signatures
        typemap = dispatcher.overloads[signature].fndesc.typemap
        floats = {t for t in typemap.values() if isinstance(t, numba.types.Float)}
        assert floats == {numba.types.float32}


def test_powers_states_and_parameters():
    system = ODESystem.from_equations(
        "dx = x**2 + y**3 + k/x + (x + y)**4 + sqrt(y) + y**-0.5 + x**20 + k*x\ndy = k*y",
        parameters=["k"],
    )
    source = system.generated_source
    body = source[source.index("def dxdt") : source.index("def observables")]
    assert "x*x" in body and "y*y*y" in body and "k/x" in body
    assert "_math.sqrt(y)" in body and "/_math.sqrt(y)" in body
    # The compound base is computed once, then multiplied.
    assert "= x + y\n" in body and "(x + y)" not in body
    assert body.count("**") == 1 and "x**_c" in body  # beyond 16: pow
    assert loaded_names(body) == {"x": [("_y", 0)], "y": [("_y", 1)], "k": [("_p", 0)]}
    assert "def observables(t, _y, _p, _out):\n    return\n" in source

    dxdt = system.make_device_functions(numba.njit, np.float64).dxdt
    x, y, k = 1.1, 0.7, 0.3
    dydt = np.empty(2)
    dxdt(0.0, np.array([x, y]), np.array([k]), dydt)
    expected = x**2 + y**3 + k / x + (x + y) ** 4 + np.sqrt(y) + y**-0.5 + x**20 + k * x
    np.testing.assert_allclose(dydt, [expected, k * y], rtol=1e-14)


def test_half_integer_powers_are_products_and_one_sqrt():
    # Pleiades-style inverse cube distances: a general pow cost 3x the rest of the right-hand side.
    system = ODESystem.from_equations("dx = x**1.5 + (x + y)**-2.5 + y**16.5\ndy = x**17.5 + y**0.5", parameters=[])
    source = system.generated_source
    body = source[source.index("def dxdt") : source.index("def observables")]
    assert "x*_math.sqrt(x)" in body and "/(_d0*_d0*_math.sqrt(_d0))" in body
    assert body.count("**") == 1 and "x**_c" in body  # 17.5 is beyond the multiplied range: pow
    dxdt = system.make_device_functions(numba.njit, np.float64).dxdt
    x, y = 1.3, 0.6
    dydt = np.empty(2)
    dxdt(0.0, np.array([x, y]), np.array([]), dydt)
    np.testing.assert_allclose(dydt, [x**1.5 + (x + y) ** -2.5 + y**16.5, x**17.5 + y**0.5], rtol=1e-14)


def test_float32_device_code_has_no_double_precision():
    """Compile to PTX (needs NVVM, not a GPU) and check no f64 instruction remains."""
    cuda = pytest.importorskip("numba.cuda")
    system = ODESystem.from_equations(
        "dx = 2.5*x - x**3/3 + c*y + floor(x)\ndy = ifelse(y > 0.5, y**2, 1 - y) + sqrt(x) + 2**y",
        constants={"c": 1.1},
    )
    plain = system.make_device_functions(lambda f: f, np.float32)
    array = numba.types.float32[::1]
    signature = (numba.types.float32, array, array, array)
    try:
        ptx, _ = cuda.compile_ptx(plain.dxdt, signature, device=True, cc=(8, 0))
    except Exception as error:  # no CUDA toolkit, or the simulator is enabled
        pytest.skip(f"cannot compile PTX here: {error}")
    assert ".f32" in ptx and ".f64" not in ptx


# Random polynomial expressions in the states x and y, as trees:
# ("x",) / ("number", value) / (operator, children...).
_leaves = st.one_of(
    st.sampled_from([("x",), ("y",)]),
    st.sampled_from([-3, -1, 0, 1, 2, 0.5, 2.5, 1.25]).map(lambda v: ("number", v)),
)
_trees = st.recursive(
    _leaves,
    lambda children: st.one_of(
        st.tuples(st.sampled_from(["+", "-", "*"]), children, children),
        st.tuples(st.just("**"), children, st.integers(0, 3)),
        st.tuples(st.just("neg"), children),
        st.tuples(st.sampled_from(["sin", "cos"]), children),
        st.tuples(st.just("ratio"), children, children),
    ),
    max_leaves=8,
)


def _text(tree):
    match tree:
        case ("x",) | ("y",):
            return tree[0]
        case ("number", value):
            return f"({value})"
        case ("**", base, exponent):
            return f"({_text(base)})**{exponent}"
        case ("neg", operand):
            return f"(-{_text(operand)})"
        case ("sin" | "cos", operand):
            return f"{tree[0]}({_text(operand)})"
        case ("ratio", numerator, denominator):
            return f"({_text(numerator)})/(1 + ({_text(denominator)})**2)"
        case (operator, left, right):
            return f"({_text(left)} {operator} {_text(right)})"


def _evaluate(tree, x, y):
    """Return the value and a bound on the terms' magnitude (for the tolerance)."""
    match tree:
        case ("x",):
            return x, abs(x)
        case ("y",):
            return y, abs(y)
        case ("number", value):
            return value, abs(value)
        case ("**", base, exponent):
            value, size = _evaluate(base, x, y)
            return value**exponent, size**exponent
        case ("neg", operand):
            value, size = _evaluate(operand, x, y)
            return -value, size
        case ("sin" | "cos", operand):
            value, _ = _evaluate(operand, x, y)
            return getattr(np, tree[0])(value), 1.0
        case ("ratio", numerator, denominator):
            (a, size), (b, _) = _evaluate(numerator, x, y), _evaluate(denominator, x, y)
            return a / (1 + b**2), size
        case ("+" | "-" | "*", left, right):
            (a, size_a), (b, size_b) = _evaluate(left, x, y), _evaluate(right, x, y)
            if tree[0] == "*":
                return a * b, size_a * size_b
            return (a + b if tree[0] == "+" else a - b), size_a + size_b


@settings(max_examples=30, deadline=None)
@given(_trees, _trees)
def test_generated_code_matches_numpy(tree_x, tree_y):
    # Run the generated source as plain Python: it is exactly what numba
    # compiles, and skipping the jit keeps each example fast.
    system = ODESystem.from_equations([f"dx = {_text(tree_x)}", f"dy = {_text(tree_y)}"],
                                      initial_state=["x", "y"])  # a tree may read neither
    dxdt = system.make_device_functions(lambda f: f, np.float64).dxdt
    for x, y in np.random.default_rng(3).uniform(-2, 2, (4, 2)):
        dydt = np.empty(2)
        dxdt(np.float64(0.0), np.array([x, y]), np.empty(0), dydt)
        for got, tree in zip(dydt, (tree_x, tree_y)):
            expected, size = _evaluate(tree, x, y)
            assert abs(got - expected) <= 1e-12 * (size + 1.0)
