"""Event functions of an equation system: expressions parsed like equations, compiled like observables.

An event is a function ``g(t, y, p)`` written as text over the system's
states, parameters, observables, constants, drivers and ``t`` (``"x - 1"``,
``"energy - 0.5"``); its zero crossings are the events. The text is
parsed with the same whitelist as the equations (never evaluated),
observables are substituted, and all of a system's event functions are
generated into one device function ``event_values(t, y, p, out)``.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import sympy

from batchode.systems.codegen import GeneratedFunction, compile_source, module_source
from batchode.systems.model import BUILTIN_CONSTANTS, TIME
from batchode.systems.parsing import Equation, rhs_to_sympy
from batchode.systems.system import ODESystem


class EventFunctions(NamedTuple):
    """The compiled ``event_values(t, y, p, out)``: every event function's value into ``out``."""

    event_values: Callable


def event_expressions(system: ODESystem, texts: Sequence[str]) -> tuple[sympy.Expr, ...]:
    """SymPy expressions of the event functions ``texts`` in the system's states, parameters and time.

    Raises
    ------
    ValueError
        For a system defined by a Python function (its names have no
        expressions to build on), text that does not parse, an unknown name
        (with close matches), unsupported syntax, or a value that is not
        real; the message quotes the event.
    """
    model = system.symbolic
    if model is None:
        raise ValueError("events are written over the names of an equation system "
                         "(ODESystem.from_equations); this system is a Python function")
    symbols = {name: value for name, value in BUILTIN_CONSTANTS.items()}
    symbols[TIME] = model.time
    for symbol in (*model.states, *model.parameters, *model.observables, *(s for s, _ in model.constants)):
        symbols[symbol.name] = symbol
    for name in model.drivers:
        symbols[name] = sympy.Function(name, real=True)(model.time)
    observables = dict(zip(model.observables, model.observable_expressions))
    expressions = []
    for index, text in enumerate(texts):
        equation = Equation(lhs=f"event_{index}", rhs=_parse(text, index), text=text,
                            location=f"event {index}")
        expressions.append(rhs_to_sympy(equation, symbols).xreplace(observables))
    return tuple(expressions)


def event_source(system: ODESystem, texts: Sequence[str]) -> str:
    """The generated module defining ``event_values(t, _y, _p, _out)`` for the events ``texts``."""
    expressions = event_expressions(system, texts)
    model = system.symbolic
    inputs = (("_y", model.states), ("_p", model.parameters))
    function = GeneratedFunction("event_values", ("t", "_y", "_p", "_out"), inputs, "_out", expressions)
    return module_source(model, [function])


def compile_event_code(source: str, system: ODESystem, decorator: Callable,
                       precision: type[np.floating]) -> EventFunctions:
    """Compile :func:`event_source`'s ``source`` for ``system`` with ``decorator``.

    ``decorator`` and ``precision`` as for :meth:`ODESystem.make_device_functions`.
    """
    return compile_source(source, precision, decorator, functions=EventFunctions,
                          helpers=system.driver_functions(decorator, precision))


def _parse(text: str, index: int) -> ast.expr:
    """The syntax tree of one event's text, or a ValueError quoting it."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"event {index}: expected an expression over the system's names, got {text!r}")
    try:
        return ast.parse(text.strip(), mode="eval").body
    except SyntaxError as error:
        raise ValueError(f"event {index} {text!r} does not parse as an expression ({error.msg})") from None
