"""The symbolic form of an equation-defined system.

:class:`SymbolicModel` keeps the SymPy expressions of the derivatives and
observables, written in terms of time, states, parameters and constants only
(observables are substituted in).  Code generation reads it, and
:mod:`batchode.systems.derivatives` differentiates
:attr:`SymbolicModel.derivatives` for implicit solvers.
"""

import graphlib
import keyword
from collections.abc import Mapping, Sequence

import attrs
import sympy

from batchode.systems.parsing import (
    RESERVED_NAMES,
    TIME,
    Equation,
    make_symbol,
    rhs_to_sympy,
)


@attrs.frozen
class SymbolicModel:
    """SymPy expressions of a system, observables already substituted in.

    Attributes
    ----------
    time : sympy.Symbol
    states, parameters, observables : tuple of sympy.Symbol
        In the order of the ``y``, ``p`` and observables-output arrays.
    constants : tuple of (sympy.Symbol, float)
        Names baked into the generated code with their values.
    derivatives : tuple of sympy.Expr
        ``d state / dt`` for each state, in terms of time, states, parameters
        and constants.
    observable_expressions : tuple of sympy.Expr
        Each observable in terms of the same symbols.
    drivers : tuple of str
        Names of the sampled forcing inputs; in the expressions each appears
        as an undefined function of time, ``name(t)``, so that SymPy gives
        its time derivative as ``Derivative(name(t), t)`` and its derivative
        with respect to every state as zero.
    """

    time: sympy.Symbol
    states: tuple[sympy.Symbol, ...]
    parameters: tuple[sympy.Symbol, ...]
    constants: tuple[tuple[sympy.Symbol, float], ...]
    observables: tuple[sympy.Symbol, ...]
    derivatives: tuple[sympy.Expr, ...]
    observable_expressions: tuple[sympy.Expr, ...]
    drivers: tuple[str, ...] = ()


def check_name(name: object, kind: str) -> str:
    """Return ``name`` if it may name a state, parameter, constant or observable.

    Raises
    ------
    ValueError
        If ``name`` is not an identifier, is a keyword, starts with ``_``
        (reserved for generated code) or is reserved (``t``, function names).
    """
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"{kind} name {name!r} is not a valid identifier")
    if name.startswith("_"):
        raise ValueError(f"{kind} name '{name}': names starting with '_' are reserved")
    if name in RESERVED_NAMES:
        what = "time" if name == TIME else "a function"
        raise ValueError(f"{kind} name '{name}' is reserved for {what}")
    return name


def build_model(
    equations: Sequence[Equation],
    state_names: Sequence[str] | None,
    parameter_names: Sequence[str],
    constants: Mapping[str, float],
    driver_names: Sequence[str] = (),
) -> SymbolicModel:
    """Classify equations into states and observables and convert them to SymPy.

    Parameters
    ----------
    equations : sequence of Equation
        As returned by :func:`~batchode.systems.parsing.parse_equations`.
    state_names : sequence of str or None
        The states, each needing a ``d<name> = ...`` equation; if None, every
        equation ``d<name> = ...`` with ``<name>`` an identifier defines state
        ``<name>``, in order of appearance.
    parameter_names : sequence of str
    constants : Mapping[str, float]
    driver_names : sequence of str, optional
        Forcing inputs the equations may use like parameters.

    Returns
    -------
    SymbolicModel

    Raises
    ------
    ValueError
        On missing, duplicate or conflicting definitions, unknown symbols,
        unsupported syntax, or cyclic observable definitions.
    """
    derivative_of, observable_equations = _classify(equations, state_names)
    states = tuple(derivative_of)
    observables = tuple(observable_equations)

    kinds: dict[str, str] = {}
    for kind, names in (
        ("parameter", parameter_names),
        ("constant", constants),
        ("driver", driver_names),
        ("state", states),
        ("observable", observables),
    ):
        described = f"an {kind}" if kind == "observable" else f"a {kind}"
        for name in names:
            check_name(name, kind)
            if name in kinds:
                raise ValueError(f"'{name}' is defined both as {kinds[name]} and as {described}")
            kinds[name] = described
    symbols = {name: make_symbol(name) for name in [TIME, *kinds]}
    symbols.update({name: sympy.Function(name, real=True)(symbols[TIME]) for name in driver_names})

    derivative_expressions = [rhs_to_sympy(derivative_of[s], symbols) for s in states]
    observable_expressions = {
        name: rhs_to_sympy(equation, symbols) for name, equation in observable_equations.items()
    }
    resolved = _substitute_observables(observable_expressions, observable_equations, symbols)
    return SymbolicModel(
        time=symbols[TIME],
        states=tuple(symbols[name] for name in states),
        parameters=tuple(symbols[name] for name in parameter_names),
        constants=tuple((symbols[name], float(value)) for name, value in constants.items()),
        observables=tuple(symbols[name] for name in observables),
        derivatives=tuple(e.xreplace(resolved) for e in derivative_expressions),
        observable_expressions=tuple(resolved[symbols[name]] for name in observables),
        drivers=tuple(driver_names),
    )


def _classify(
    equations: Sequence[Equation], state_names: Sequence[str] | None
) -> tuple[dict[str, Equation], dict[str, Equation]]:
    """Split equations into state derivatives and observables, both keyed by name."""
    by_lhs: dict[str, Equation] = {}
    for equation in equations:
        if equation.lhs in by_lhs:
            first = by_lhs[equation.lhs]
            raise ValueError(
                f"'{equation.lhs}' is defined twice: {first.describe()} and {equation.describe()}"
            )
        by_lhs[equation.lhs] = equation

    if state_names is None:
        state_names = [
            lhs[1:]
            for lhs in by_lhs
            if lhs.startswith("d") and lhs[1:].isidentifier() and not keyword.iskeyword(lhs[1:])
        ]
    derivative_of = {}
    for name in state_names:
        check_name(name, "state")
        equation = by_lhs.pop(f"d{name}", None)
        if equation is None:
            raise ValueError(f"state '{name}' has no equation 'd{name} = ...'")
        derivative_of[name] = equation
    if not derivative_of:
        raise ValueError("no state equations: write one 'd<state> = ...' per state")
    return derivative_of, by_lhs


def _substitute_observables(
    expressions: Mapping[str, sympy.Expr],
    equations: Mapping[str, Equation],
    symbols: Mapping[str, sympy.Symbol],
) -> dict[sympy.Symbol, sympy.Expr]:
    """Express every observable without other observables, in dependency order."""
    observable_symbols = {symbols[name]: name for name in expressions}
    sorter = graphlib.TopologicalSorter(
        {
            name: [observable_symbols[s] for s in expr.free_symbols if s in observable_symbols]
            for name, expr in expressions.items()
        }
    )
    try:
        order = tuple(sorter.static_order())
    except graphlib.CycleError as error:
        cycle = error.args[1][:-1]  # graphlib repeats the first node at the end
        raise ValueError(
            "observables depend on each other in a cycle: "
            + "; ".join(equations[name].describe() for name in cycle)
        ) from None
    resolved: dict[sympy.Symbol, sympy.Expr] = {}
    for name in order:
        resolved[symbols[name]] = expressions[name].xreplace(resolved)
    return resolved
