"""The factory tree of a solver, built from its checked settings.

The settings that shape the tree (method, controller, linear solver,
outputs, precision, backend) choose the factories; every other public
setting is routed to the factory that owns it, found by its role
(:data:`batchode.options.OWNERS`) whatever the method's family. A setting
given for a method it does not apply to (a preconditioner for an explicit
method, a Newton setting for a Rosenbrock one) is an error, never ignored.
Nothing here compiles: building the tree only decides what will be.
"""

from __future__ import annotations

import attrs

from batchode.algorithms import estimates_error, get_tableau, make_step
from batchode.algorithms.interpolation import HermiteInterpolant
from batchode.algorithms.tableaus import FAMILY_NAMES, filtered_error_estimate
from batchode.backends import resolve_backend
from batchode.batch.body import TrajectoryBody
from batchode.batch.kernel import BatchKernel
from batchode.control import controller_class, make_controller
from batchode.events import EventFunctions
from batchode.locations import location_keys
from batchode.loop import IntegrationLoop
from batchode.options import BY_NAME, OPTIONS, unknown_setting_message
from batchode.outputs import SummaryOutputs
from batchode.solvers.linear import KRYLOV_SOLVERS, block_solver_name, linear_solver_name
from batchode.systems.device import SystemFactory

#: Settings fed to the tree's constructors rather than routed afterwards:
#: every factory that weighs errors takes the run's tolerances when it is made.
TOLERANCES = ("rtol", "atol")


@attrs.frozen
class Plan:
    """What the settings make of the tree.

    Attributes
    ----------
    tableau : ButcherTableau or RosenbrockTableau
    controller : str
        The step controller's name.
    linear_solver : str or None
        The linear solver's name; None for a method that solves no linear systems.
    backend : str
    """

    tableau: object
    controller: str
    linear_solver: str | None
    backend: str

    @property
    def family(self) -> str:
        return self.tableau.family

    @property
    def adaptive(self) -> bool:
        return controller_class(self.controller).is_adaptive


def make_plan(system, settings: dict) -> Plan:
    """The :class:`Plan` of checked ``settings`` for ``system``.

    Raises
    ------
    ValueError
        For an unknown method, controller, linear solver or backend, or
        fixed steps without ``dt``.
    """
    tableau = get_tableau(settings["method"])
    controller = settings["step_controller"]
    if controller is None:
        filtered = filtered_error_estimate(tableau)
        if filtered is not None:
            controller = filtered.controller
        else:
            controller = "pi" if estimates_error(tableau) else "fixed"
    controller = str(controller).strip().lower()
    if not controller_class(controller).is_adaptive and settings["dt"] is None:
        raise ValueError("step_controller='fixed' needs a step: pass dt=...")
    backend = resolve_backend(settings["backend"]).name
    linear = None
    if tableau.family in ("dirk", "rosenbrock"):
        linear = linear_solver_name(settings["linear_solver"], system, backend, settings["precision"])
    elif tableau.family == "firk":
        linear = block_solver_name(settings["linear_solver"], system, tableau.name)
    return Plan(tableau, controller, linear, backend)


def inapplicable(name: str, plan: Plan, settings: dict) -> str | None:
    """Why setting ``name`` does not apply to the solver ``plan`` describes (None: it applies)."""
    option, family = BY_NAME[name], plan.family
    method = f"method {plan.tableau.name!r} ({FAMILY_NAMES[family]})"
    if name == "linear_solver" and family == "erk":
        return f"{method}, which solves no linear systems"
    if option.owner == "newton" and family not in ("dirk", "firk"):
        return f"{method}, which takes no Newton iterations (diagonally and fully implicit methods do)"
    if option.owner == "linear" and plan.linear_solver not in KRYLOV_SOLVERS:
        solver = "no linear solver" if plan.linear_solver is None else f"linear_solver={plan.linear_solver!r}"
        return f"{method} with {solver}: it applies to the Krylov solvers, linear_solver='gmres' or 'minres'"
    if name == "krylov_restart" and plan.linear_solver != "gmres":
        return f"linear_solver={plan.linear_solver!r}: only GMRES restarts (linear_solver='gmres')"
    if name == "neumann_terms" and settings["preconditioner"] != "neumann":
        return f"preconditioner={settings['preconditioner']!r}: it applies with preconditioner='neumann'"
    constants = controller_class(plan.controller).constants
    if option.owner == "controller" and name not in TOLERANCES and option.field not in constants:
        listed = ", ".join(constants) or "none"
        return f"step_controller={plan.controller!r}, whose constants are: {listed}"
    return None


def owner(loop, role: str, family: str) -> tuple[object, str]:
    """The factory that plays ``role`` in ``loop``'s tree, and the prefix of its setting names there.

    ``"newton"`` is DIRK's Newton child, or a fully implicit step's own
    ``newton_*`` settings; ``"linear"`` is the linear solver under DIRK's
    Newton or in a Rosenbrock step.
    """
    algorithm = loop.child("algorithm")
    if role == "loop":
        return loop, ""
    if role == "controller":
        return loop.child("controller"), ""
    if role == "newton":
        return (algorithm, "newton_") if family == "firk" else (algorithm.child("newton"), "")
    if role == "linear":
        holder = algorithm.child("newton") if family == "dirk" else algorithm
        return holder.child("linear"), ""
    raise ValueError(f"no factory plays the role {role!r}")


def _route(loop, plan: Plan, settings: dict) -> None:
    """Set every routed setting that applies, on the factory that owns it (None: the factory's default)."""
    for option in OPTIONS:
        value = settings[option.name]
        if option.owner == "tree" or option.name in TOLERANCES or value is None:
            continue
        if inapplicable(option.name, plan, settings) is None:
            factory, prefix = owner(loop, option.owner, plan.family)
            factory.update(**{prefix + option.field: value})


def _loop(system, plan: Plan, settings: dict) -> IntegrationLoop:
    """The loop and everything under it, with the run's tolerances given to every factory that weighs errors."""
    options = dict(precision=settings["precision"], backend=plan.backend)
    system_factory = SystemFactory(system, **options)
    tolerances = {name: settings[name] for name in TOLERANCES}
    filtered = filtered_error_estimate(plan.tableau)
    if filtered is not None:  # a RADAU5-type estimate has tolerances of its own
        tolerances = dict(zip(TOLERANCES, filtered.estimate_tolerances(tolerances["rtol"], tolerances["atol"])))
    events = EventFunctions(system_factory, settings["events"]) if settings["events"] else None
    step = make_step(plan.tableau, system_factory, compute_error=plan.adaptive, linear_solver=plan.linear_solver,
                     tolerances=tolerances, dense_output=not settings["step_to_saves"] or events is not None)
    controller = make_controller(plan.controller, plan.tableau.name, plan.tableau.order,
                                 estimate_order=None if filtered is None else filtered.order,
                                 n_states=system.n_states, **tolerances, **options)
    summaries = SummaryOutputs(system_factory, settings["summaries"], settings["summarise_variables"])
    # A step with its own interpolant serves saves and events itself; the others get the cubic Hermite one.
    needs_interpolant = not settings["step_to_saves"] or events is not None
    interpolant = HermiteInterpolant(system_factory) if needs_interpolant and not step.interpolates else None
    return IntegrationLoop(step, controller, summaries, interpolant, events,
                           save_observables=settings["save_observables"],
                           save_time_series=settings["save_time_series"], step_to_saves=settings["step_to_saves"])


def _apply_tree_settings(kernel: BatchKernel, tree_settings: dict, strict: bool) -> None:
    """The factory tree's own keys (the expert route, e.g. ``loop_state_location``), relative to the body."""
    valid = [key[len("body_"):] for key in kernel.valid_update_keys() if key.startswith("body_")]
    for key, value in tree_settings.items():
        if key not in valid:
            if strict:
                raise ValueError(unknown_setting_message(key, valid))
            continue
        try:
            kernel.update(**{f"body_{key}": value})
        except (TypeError, ValueError) as error:
            raise type(error)(f"{key}={value!r}: {error}") from None


def build_tree(system, settings: dict, given=(), tree_settings=None, strict: bool = True) -> BatchKernel:
    """The factory tree of a solver with checked ``settings`` (:func:`batchode.options.check.checked_settings`).

    Parameters
    ----------
    system : ODESystem
    settings : dict
        Every public setting and ``method``.
    given : iterable of str
        The settings the user gave: each must apply to the method.
    tree_settings : dict, optional
        Keys of the factory tree itself (the expert route), relative to the body.
    strict : bool
        False leaves out buffer locations and tree keys this tree lacks
        (for a variant of a solver's tree without some part).

    Raises
    ------
    ValueError
        For a setting that does not apply to the method, an unknown tree
        key or buffer path, or a bad value only the tree can judge.
    """
    plan = make_plan(system, settings)
    reasons = {name: inapplicable(name, plan, settings) for name in given if name in BY_NAME}
    refused = [f"{name}={settings[name]!r} does not apply to {reason}" for name, reason in reasons.items() if reason]
    if refused:
        raise ValueError("; ".join(refused) + "; leave " + ("them" if len(refused) > 1 else "it") + " out")
    loop = _loop(system, plan, settings)
    _route(loop, plan, settings)
    loop.update(**location_keys(loop, settings["locations"], strict))
    kernel = BatchKernel(TrajectoryBody(loop), disk_cache=settings["cache"])
    _apply_tree_settings(kernel, tree_settings or {}, strict)
    return kernel
