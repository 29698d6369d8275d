"""The public settings of ``Solver`` and ``solve_ivp``: one table, flat names, whatever the method.

Each :class:`Option` says what a setting means (with its units), its
default, how its value is checked, and which part of the solver it lands
in (its *owner*). The owner is a role, not a place in the factory tree:
``"newton"`` is DIRK's Newton child for a diagonally implicit method and
the step itself for a fully implicit one, and ``"linear"`` is the linear
solver under Newton (DIRK) or in the step (Rosenbrock);
:mod:`batchode.tree` finds the factory. The Solver's docstring and the
README's table are rendered from this table.
"""

from __future__ import annotations

import math
import textwrap
from typing import Callable

import attrs

from batchode.options import values

#: Where a setting lands: the tree builder (it shapes the tree or the batch),
#: the loop, the step controller, Newton's iteration, the linear solver.
OWNERS = ("tree", "loop", "controller", "newton", "linear")


@attrs.frozen
class Option:
    """One public setting.

    Attributes
    ----------
    name : str
        The keyword of ``Solver``, ``Solver.update`` and ``solve_ivp``.
    default : object
        Its value when not given (None: chosen per method or system, as
        :attr:`doc` says).
    type : str
        The accepted values, as a docstring states them.
    doc : str
        What it means, with units.
    owner : str
        One of :data:`OWNERS`.
    field : str or None
        The owner's setting it sets (None for ``"tree"`` settings, which
        the tree builder reads itself).
    check : callable
        ``check(name, value)``: the value in checked form, or an error
        naming the setting.
    """

    name: str
    default: object
    type: str
    doc: str
    owner: str = attrs.field(validator=attrs.validators.in_(OWNERS))
    field: str | None = None
    check: Callable = values.anything


def _tree(name, default, type, doc, check=values.anything) -> Option:
    return Option(name, default, type, doc, "tree", None, check)


def _controller(name, type, doc, check) -> Option:
    return Option(name, None, type, doc + " Default: the controller's value for the method.", "controller", name,
                  check)


_POSITIVE, _COUNT = values.real(), values.count()

OPTIONS: tuple[Option, ...] = (
    _tree("step_controller", None, '{"fixed", "i", "pi", "pid", "gustafsson"} or None',
          "The step-size controller. None: PI (with DifferentialEquations.jl's constants for the method) for "
          "a method with an error estimate, else fixed steps; for radau-iia-5 Gustafsson's predictive "
          "controller, as in RADAU5 and DifferentialEquations.jl."),
    Option("rtol", 1e-6, "float or sequence of float", "Relative tolerance (dimensionless), one for all "
           "states or one per state. Raised with a warning to 5 machine epsilons of the precision if below. "
           "radau-iia-5 weighs its order-3 error estimate against min(rtol, 0.1 rtol^(2/3)), and atol scaled "
           "alike: RADAU5's tolerances where they are tighter (rtol above 1e-3).",
           "controller", "rtol"),
    Option("atol", 1e-6, "float or sequence of float", "Absolute tolerance, in the units of each state; one "
           "for all states or one per state.", "controller", "atol"),
    _tree("dt", None, "float", "Time units. Fixed steps: the step (required). Adaptive: the first step "
          "(None: chosen per run from two evaluations of the right-hand side, Hairer-Norsett-Wanner II.4).",
          values.real()),
    Option("dt_min", None, "float", "Time units. An adaptive run whose step falls below it stops with status "
           "DT_BELOW_MIN (None: 1e-12); so does a step too small to advance t.", "loop", "dt_min",
           _POSITIVE),
    Option("dt_max", math.inf, "float", "Time units. No step is longer.", "loop", "dt_max",
           values.real(allow_inf=True)),
    Option("max_steps", 100_000, "int", "Accepted plus rejected steps allowed per run; a run that needs more "
           "stops with status MAX_STEPS.", "loop", "max_steps", _COUNT),
    _controller("safety", "float", "Factor (< 1) applied to every proposed step.", _POSITIVE),
    _controller("qmin", "float", "Smallest ratio of a new step to the last one.", _POSITIVE),
    _controller("qmax", "float", "Largest ratio of a new step to the last one.", _POSITIVE),
    _controller("qsteady_min", "float", "An accepted step whose proposed ratio lies in "
                "[qsteady_min, qsteady_max] keeps its size (controllers i, pi and gustafsson).", _POSITIVE),
    _controller("qsteady_max", "float", "See qsteady_min.", _POSITIVE),
    _controller("beta1", "float", "Exponent of the latest error (controllers pi and pid).",
                values.real(signed=True)),
    _controller("beta2", "float", "Exponent of the previous error (controllers pi and pid).",
                values.real(signed=True)),
    _controller("beta3", "float", "Exponent of the error before that (controller pid).", values.real(signed=True)),
    _controller("qoldinit", "float", "The previous error assumed at the first step (controller pi).",
                _POSITIVE),
    _tree("linear_solver", None, '{"dense", "sparse", "gmres", "minres"} or None', "Implicit methods: the solver "
          "of their linear systems. sparse: an LU on the Jacobian's sparsity pattern, its fill-in fixed when the "
          "solver is built (equation systems only). None: sparse for an equation system whose sparse LU costs "
          "no more than the largest dense one chosen (CPU) or whose factors take no more memory than GMRES's "
          "basis (CUDA); otherwise dense LU up to 64 states on the CPU in float64, 32 in float32 and 8 on "
          "CUDA, else GMRES. Fully implicit methods: dense or sparse LUs of their blocks (no GMRES); None: sparse "
          "for an equation system, dense for a Python function."),
    Option("newton_tolerance", None, "float", "Diagonally and fully implicit methods: Newton stops when the "
           "error it leaves (estimated from its last update and contraction rate) is below this fraction of the "
           "error weights atol + |y| rtol (dimensionless); a diagonally implicit method divides it by how much "
           "its solution amplifies a stage's error. None: 1e-2. Never below 10 eps / min(rtol) of the "
           "precision, which no update can resolve: a smaller value is raised to it, with a warning when given.",
           "newton", "tolerance", _POSITIVE),
    Option("newton_max_iterations", 10, "int", "Diagonally and fully implicit methods: Newton iterations "
           "allowed per stage solve before the step is retried smaller.", "newton", "max_iterations", _COUNT),
    Option("krylov_tolerance", None, "float", "Krylov linear solvers (gmres, minres): stop when the residual "
           "is below this fraction of the right-hand side's norm (dimensionless). None: 1e-2 min(rtol), but at "
           "least 10 machine epsilons of the precision (1e-8 at rtol 1e-6 in float64); a value given below "
           "those 10 eps is raised to them with a warning.", "linear", "tolerance", _POSITIVE),
    Option("krylov_restart", 10, "int", "GMRES: basis vectors kept before a restart (changing it recompiles).",
           "linear", "restart", _COUNT),
    Option("krylov_max_iterations", 100, "int", "Krylov linear solvers: products with the Newton matrix "
           "allowed per solve.", "linear", "max_iterations", _COUNT),
    Option("preconditioner", None, '{"jacobi", "neumann"} or None', "Krylov linear solvers: right "
           "preconditioner. jacobi: the analytic diagonal of the Jacobian (equation systems, or jacobian=); "
           "neumann: a truncated Neumann series about that diagonal, or of Jacobian-vector products alone.",
           "linear", "preconditioner", values.choice(None, "jacobi", "neumann")),
    Option("neumann_terms", 2, "int", "preconditioner='neumann': Jacobian-vector products per application.",
           "linear", "neumann_terms", _COUNT),
    _tree("save_observables", True, "bool", "Save the system's observables (if it has any) with the states.",
          values.flag),
    _tree("save_time_series", True, "bool", "False keeps only the final state (and the summaries): no "
          "time-series output is allocated.", values.flag),
    _tree("step_to_saves", False, "bool", "False: saves between steps are interpolated, so the steps taken "
          "do not depend on what is saved. True: every step is shortened to land on the save times.",
          values.flag),
    _tree("summaries", (), "sequence of str", "Summary metrics over the save times: mean, min, max, rms, std, "
          "max_magnitude, extrema, peaks, negative_peaks, dxdt_max, dxdt_min ('peaks[k]' keeps k peak times).",
          values.names_sequence),
    _tree("summarise_variables", None, "sequence of str", "States and observables to summarise (None: every "
          "state).", values.optional_names),
    _tree("events", (), "str, Event, dict or sequence of them", "Event functions whose zero crossings are "
          "located between steps and recorded per run (batchode.Event: expression, direction, terminal, "
          "max_records, name); a terminal event ends its run with status TERMINAL_EVENT."),
    _tree("precision", "float64", '{"float64", "float32"}', "The working precision (time is always float64).",
          values.precision),
    _tree("backend", "auto", '{"auto", "cpu", "cuda"}', "Where runs are integrated (auto: CUDA when a GPU is "
          "usable, else the CPU)."),
    _tree("locations", {}, "dict of str -> str", "Buffer locations by path, e.g. "
          "{'algorithm.newton.linear.basis': 'shared'} (or any unique tail such as 'linear.basis'); "
          "locations: local, shared, local_persistent. Solver.describe_memory() lists the buffers.",
          values.locations),
    _tree("cache", True, "bool", "Keep the compiled kernel in batchode's disk cache, so a new process with the "
          "same configuration loads it instead of compiling.", values.flag),
)

#: The options by name.
BY_NAME = {option.name: option for option in OPTIONS}


def defaults() -> dict:
    """Every option's default, by name (a fresh dict: mutable defaults are copied)."""
    return {option.name: dict(option.default) if isinstance(option.default, dict) else option.default
            for option in OPTIONS}


def numpydoc_entries(indent: str = "") -> str:
    """The options as numpydoc parameter entries (``name : type, default ...`` and the text)."""
    lines = []
    for option in OPTIONS:
        lines.append(f"{indent}{option.name} : {option.type}, default {option.default!r}")
        lines.extend(_wrap(option.doc, indent + "    "))
    return "\n".join(lines)


def markdown_table() -> str:
    """The options as the README's Markdown table."""
    rows = ["| setting | default | meaning |", "| --- | --- | --- |"]
    rows += [f"| `{option.name}` | `{option.default!r}` | {option.doc} |" for option in OPTIONS]
    return "\n".join(rows)


def _wrap(text: str, indent: str, width: int = 79) -> list[str]:
    return textwrap.wrap(text, width=width, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False)
