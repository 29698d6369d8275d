"""The symbolic form of an equation-defined system.

:class:`SymbolicModel` keeps the SymPy expressions of the derivatives and
observables, written in terms of time, states, parameters and constants only
(observables are substituted in).  Code generation reads it, and
:mod:`batchode.systems.derivatives` differentiates
:attr:`SymbolicModel.derivatives` for implicit solvers.
"""

import ast
import graphlib
import keyword
import unicodedata
from collections.abc import Mapping, Sequence

import attrs
import sympy

from batchode.systems.parsing import (
    BUILTIN_CONSTANTS,
    EQUATION_FORMS,
    FUNCTIONS,
    GENERATED_NAMES,
    IFELSE,
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
    """Return ``name`` if it may name a state, parameter, constant, driver or observable.

    Raises
    ------
    ValueError
        If ``name`` is not an identifier, is a keyword, starts with ``_``
        (reserved for generated code), is reserved (``t``, the function
        names, the names of the generated functions; the message lists
        them all), or is not in Unicode normal form NFKC (Python reads
        identifiers NFKC-normalised, so equations could never refer to it:
        the fullwidth ``ｋ`` reads as ``k``).
    """
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"{kind} name {name!r} is not a valid identifier")
    if name.startswith("_"):
        raise ValueError(f"{kind} name '{name}': names starting with '_' are reserved")
    if name in RESERVED_NAMES:
        what = (
            "time" if name == TIME
            else "a function" if name in FUNCTIONS or name == IFELSE
            else "generated code"
        )
        raise ValueError(
            f"{kind} name '{name}' is reserved for {what}; the reserved names are "
            f"{TIME!r} (time), {', '.join(map(repr, sorted([*FUNCTIONS, IFELSE])))} (functions), "
            f"{', '.join(map(repr, sorted(GENERATED_NAMES)))} (generated code) and every name "
            "starting with '_'"
        )
    normal = unicodedata.normalize("NFKC", name)
    if normal != name:
        raise ValueError(
            f"{kind} name {name!r} is not in Unicode normal form NFKC: Python reads it as "
            f"{normal!r}, so equations cannot refer to it; use {normal!r}"
        )
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
        The states, each needing a ``d<name> = ...`` equation (or
        ``d<name>/dt = ...``, ``<name>' = ...``); if None, the states are
        those of the explicit forms and of every ``d<name> = ...`` whose
        ``<name>`` some right-hand side reads, in order of appearance (see
        :func:`_classify`).
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
        On missing, duplicate or conflicting definitions (also of names
        equal after NFKC normalisation), reserved names, an ambiguous
        ``d<name> = ...``, unknown symbols, unsupported syntax, or cyclic
        observable definitions.
    """
    derivative_of, observable_equations, ambiguous = _classify(equations, state_names)
    states = tuple(derivative_of)
    observables = tuple(observable_equations)

    # Keyed by the NFKC form, the name equations see: 'k' and the fullwidth
    # 'ｋ' would be one symbol there.
    kinds: dict[str, tuple[str, str]] = {}
    for kind, names in (
        ("parameter", parameter_names),
        ("constant", constants),
        ("driver", driver_names),
        ("state", states),
        ("observable", observables),
    ):
        described = f"an {kind}" if kind == "observable" else f"a {kind}"
        for name in names:
            normal = unicodedata.normalize("NFKC", name) if isinstance(name, str) else name
            if normal in kinds:
                first, first_kind = kinds[normal]
                if first == name:
                    raise ValueError(f"'{name}' is defined both as {first_kind} and as {described}")
                raise ValueError(
                    f"{kind} name {name!r} and {first_kind[first_kind.index(' ') + 1:]} name "
                    f"{first!r} are the same name {normal!r} after Unicode NFKC normalisation, "
                    "which Python applies to every name in the equations; rename one of them"
                )
            check_name(name, kind)
            kinds[normal] = (name, described)
    # Built-in numbers (pi, e) unless a user's name of the same spelling shadows them.
    symbols = {name: value for name, value in BUILTIN_CONSTANTS.items() if name not in kinds}
    symbols.update({name: make_symbol(name) for name in [TIME, *kinds]})
    symbols.update({name: sympy.Function(name, real=True)(symbols[TIME]) for name in driver_names})

    derivative_expressions = [rhs_to_sympy(derivative_of[s], symbols) for s in states]
    observable_expressions = {
        name: rhs_to_sympy(equation, symbols) for name, equation in observable_equations.items()
    }
    resolved = _substitute_observables(observable_expressions, observable_equations, symbols)
    if ambiguous:
        raise _ambiguity_error(ambiguous[0])
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
) -> tuple[dict[str, Equation], dict[str, Equation], list[Equation]]:
    """Split equations into state derivatives and observables, both keyed by name.

    ``dx/dt = ...`` and ``x' = ...`` always give the derivative of ``x``.
    With the states given, ``d<name> = ...`` does for each of them and every
    other equation defines an observable.  Without, ``d<name> = ...`` gives
    the derivative of ``<name>`` when that is the only reading: when some
    right-hand side reads ``<name>``, or when it is the one equation that
    could define a state.  Otherwise (``decay = k*x`` next to ``dx = ...``:
    a state ``ecay``, or an observable?) a guess would silently make a state
    of an observable or the reverse, so it is returned as ambiguous, to be
    refused once the right-hand sides are checked (their errors come first).

    Returns
    -------
    derivative_of : dict of str to Equation
        The states' equations, by state name, ambiguous ones included.
    observables : dict of str to Equation
    ambiguous : list of Equation
    """
    by_lhs: dict[str, Equation] = {}
    for equation in equations:
        if equation.lhs in by_lhs:
            first = by_lhs[equation.lhs]
            raise ValueError(
                f"'{equation.lhs}' is defined twice: {first.describe()} and {equation.describe()}; "
                "expected one equation per name"
            )
        by_lhs[equation.lhs] = equation

    ambiguous = []
    if state_names is None:
        read = {node.id for e in equations for node in ast.walk(e.rhs) if isinstance(node, ast.Name)}
        state_names, unread = [], []
        for lhs, equation in by_lhs.items():
            if equation.state is not None:
                state_names.append(equation.state)
            elif (
                lhs.startswith("d")
                and lhs[1:].isidentifier()
                and not keyword.iskeyword(lhs[1:])
                and lhs[1:] not in RESERVED_NAMES  # 'dt = 0.1' is an observable: t is time
            ):
                state_names.append(lhs[1:])
                if lhs[1:] not in read:
                    unread.append(equation)
        if len(unread) < len(state_names) or len(unread) > 1:
            ambiguous = unread
    else:
        declared = set(state_names)
        for equation in equations:
            if equation.state is not None and equation.state not in declared:
                raise ValueError(
                    f"{equation.describe()}: '{equation.state}' is not one of the states "
                    f"{list(state_names)} given in initial_state"
                )
    derivative_of = {}
    for name in state_names:
        check_name(name, "state")
        equation = by_lhs.pop(f"d{name}", None)
        if equation is None:
            raise ValueError(
                f"state '{name}' has no equation 'd{name} = ...' (or 'd{name}/dt = ...', \"{name}' = ...\")"
            )
        derivative_of[name] = equation
    if not derivative_of:
        raise ValueError(f"no state equations: write one per state; equations have the forms {EQUATION_FORMS}")
    return derivative_of, by_lhs, ambiguous


def _ambiguity_error(equation: Equation) -> ValueError:
    lhs, name = equation.lhs, equation.lhs[1:]
    return ValueError(
        f"{equation.describe()}: is '{lhs}' the derivative of a state '{name}' (which no equation "
        f"uses) or an observable '{lhs}'? Equations have the forms {EQUATION_FORMS}; write "
        f"\"{name}' = ...\" for a state, or list the states in initial_state (then 'd<name> = ...' is "
        "a derivative only for those), or rename the observable so that it does not start with 'd'"
    )


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
            + "; expected each observable to be computable from states, parameters, constants, "
            "drivers, t and observables defined without it"
        ) from None
    resolved: dict[sympy.Symbol, sympy.Expr] = {}
    for name in order:
        resolved[symbols[name]] = expressions[name].xreplace(resolved)
    return resolved
