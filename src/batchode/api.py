"""``solve_ivp`` and ``Solver``: the user-facing entry points."""

from __future__ import annotations

import math
import time

import attrs
import numpy as np

from batchode.algorithms import estimates_error, get_tableau, make_step
from batchode.backends import resolve_backend
from batchode.batch.body import TrajectoryBody
from batchode.batch.grid import build_runs, save_times
from batchode.batch.kernel import BatchKernel
from batchode.batch.results import SolveResult
from batchode.control import controller_class, make_controller
from batchode.loop import IntegrationLoop
from batchode.systems.device import SystemFactory
from batchode.systems.system import ODESystem

PRECISIONS = {"float32": np.float32, "float64": np.float64}

#: Positions of the outputs in the batch kernel's arguments
#: (states, observables, counters, status), copied back after a GPU launch.
OUTPUT_ARGUMENTS = (5, 6, 7, 8)

#: Solver settings and their defaults; everything else given to ``update`` is a
#: buffer location or factory key routed into the factory tree.
DEFAULTS = dict(
    method="tsit5", step_controller=None, rtol=1e-6, atol=1e-6, dt=None, dt_min=None,
    dt_max=math.inf, max_steps=100_000, save_observables=True, precision="float64", backend="auto",
    linear_solver=None, newton_tolerance=1e-2, newton_max_iterations=10,
)


def _precision(value):
    key = np.dtype(value).name if not isinstance(value, str) else value.lower()
    if key not in PRECISIONS:
        raise ValueError(f"precision must be 'float32' or 'float64', got {value!r}")
    return PRECISIONS[key]


class Solver:
    """Compiles once for a system and a method, then solves many batches.

    Parameters
    ----------
    system : ODESystem
    method : str or ButcherTableau, default "tsit5"
        A method name (``batchode.algorithms.available_methods()``) or tableau.
    step_controller : {"fixed", "i", "pi", "pid", "gustafsson"} or None
        None: the method's default (PI with DifferentialEquations.jl's
        constants for methods with an error estimate, else fixed).
    rtol, atol : float or sequence of float (one per state)
    dt : float, optional
        Initial step (adaptive; default: chosen per run from two evaluations
        of the right-hand side, Hairer-Norsett-Wanner II.4) or the step
        (fixed; required).
    dt_min : float, optional
        Smallest step before an adaptive run stops with ``DT_BELOW_MIN``
        (default 1e-12); a step too small to advance t also stops the run.
    dt_max : float, default inf
    max_steps : int, default 100000
        Accepted plus rejected steps per run.
    save_observables : bool, default True
        Save the system's observables (if it has any) with the states.
    precision : {"float64", "float32"}
    backend : {"auto", "cpu", "cuda"}
    linear_solver : {"dense", "gmres", "minres"} or None
        Implicit methods: the linear solver under Newton (None: dense LU for
        up to 8 states, else GMRES).
    newton_tolerance : float, default 1e-2
        Implicit methods: Newton stops when the stage update is below this
        fraction of the error weights (atol + |y| rtol).
    newton_max_iterations : int, default 10
    **locations
        Buffer locations for the factory tree, e.g.
        ``loop_state_location="shared"``; see :meth:`describe_memory`.
    """

    def __init__(self, system: ODESystem, method="tsit5", **settings):
        if not isinstance(system, ODESystem):
            raise TypeError(f"system must be an ODESystem, got {type(system).__name__}")
        self.system = system
        self._settings = dict(DEFAULTS, method=method)
        self._locations: dict[str, object] = {}
        self._kernel = None
        self.update(**settings)

    # -- configuration --------------------------------------------------------
    def update(self, **changes) -> None:
        """Change settings; only factories whose configuration changed recompile.

        Unknown keys raise ``ValueError`` listing close matches. Builds are
        cached by configuration hash, so rebuilding the factory tree reuses
        every compiled piece that did not change.
        """
        settings = dict(self._settings)
        locations = dict(self._locations)
        for key, value in changes.items():
            if key in settings:
                settings[key] = value
            else:
                locations[key] = value
        kernel = self._make_tree(settings)
        if locations:
            routed = {f"body_{key}": value for key, value in locations.items()}
            try:
                kernel.update(**routed)
            except ValueError as error:
                raise ValueError(str(error).replace("'body_", "'")) from None
        self._settings, self._locations, self._kernel = settings, locations, kernel

    def _make_tree(self, settings) -> BatchKernel:
        precision = _precision(settings["precision"])
        backend = resolve_backend(settings["backend"]).name
        tableau = get_tableau(settings["method"])
        controller_name = settings["step_controller"]
        if controller_name is None:
            controller_name = "pi" if estimates_error(tableau) else "fixed"
        adaptive = controller_class(controller_name).is_adaptive
        if not adaptive and settings["dt"] is None:
            raise ValueError("step_controller='fixed' needs a step: pass dt=...")
        if settings["dt"] is not None and not (np.isfinite(settings["dt"]) and settings["dt"] > 0):
            raise ValueError(f"dt must be a positive number, got {settings['dt']!r}")
        options = dict(precision=precision, backend=backend)
        system = SystemFactory(self.system, **options)
        newton = dict(rtol=settings["rtol"], atol=settings["atol"], tolerance=settings["newton_tolerance"],
                      max_iterations=settings["newton_max_iterations"])
        step = make_step(tableau, system, compute_error=adaptive, linear_solver=settings["linear_solver"],
                         newton_settings=newton)
        controller = make_controller(
            controller_name, tableau.name, tableau.order, n_states=self.system.n_states,
            rtol=settings["rtol"], atol=settings["atol"], **options,
        )
        dt_min = settings["dt_min"] if settings["dt_min"] is not None else 1e-12
        loop = IntegrationLoop(step, controller, dt_min=dt_min, dt_max=settings["dt_max"],
                               max_steps=settings["max_steps"],
                               save_observables=bool(settings["save_observables"]))
        return BatchKernel(TrajectoryBody(loop))

    @property
    def settings(self) -> dict:
        """The solver's settings (a copy), with resolved method and controller names."""
        return dict(self._settings)

    @property
    def loop(self) -> IntegrationLoop:
        return self._kernel.child("body").child("loop")

    @property
    def method(self) -> str:
        return self.loop.child("algorithm").tableau.name

    @property
    def backend(self) -> str:
        return self._kernel.backend.name

    @property
    def precision(self) -> np.dtype:
        return self._kernel.precision

    @property
    def kernel(self) -> BatchKernel:
        """The factory tree's root."""
        return self._kernel

    def describe_memory(self) -> str:
        """The registry tree: every buffer's location, size and offsets, per-pool totals."""
        return self._kernel.child("body").describe_memory()

    # -- solving ----------------------------------------------------------------
    def prepare_arguments(self, t_span, y0=None, parameters=None, save_every=None,
                          grid="verbatim") -> "KernelArguments":
        """Validate inputs and build the batch kernel's argument tuple (host arrays).

        Takes the arguments of :meth:`solve`; everything is checked here,
        before any compilation or launch.
        """
        t0, t1 = _time_span(t_span)
        initial, params = build_runs(self.system, y0, parameters, grid)
        times = save_times(t0, t1, save_every)
        dtype = self.precision.type
        adaptive = self.loop.is_adaptive
        # dt = 0 asks the loop for its automatic first step (adaptive only).
        dt = self._settings["dt"] if self._settings["dt"] is not None else 0.0
        if not adaptive:
            needed = math.ceil((t1 - t0) / dt) + len(times)
            if needed > self._settings["max_steps"]:
                raise ValueError(f"fixed dt={dt} needs about {needed} steps over {t_span}, more than "
                                 f"max_steps={self._settings['max_steps']}; raise max_steps or dt")
        n_runs, n, n_saves = len(initial), self.system.n_states, len(times)
        n_obs = self.system.n_observables if self._settings["save_observables"] else 0
        runs_last = self._kernel.child("body").runs_last
        shape = (lambda *dims: (*dims, n_runs)) if runs_last else (lambda *dims: (n_runs, *dims))
        args = (dtype(t0), dtype(dt), initial.astype(dtype), params.astype(dtype), times.astype(dtype),
                np.empty(shape(n_saves, n), dtype), np.empty(shape(n_saves, max(n_obs, 1)), dtype),
                np.zeros((4, n_runs) if runs_last else (n_runs, 4), np.int32), np.zeros(n_runs, np.int32))
        return KernelArguments(args, times, initial, params, n_obs, runs_last)

    def solve(self, t_span, y0=None, parameters=None, save_every=None, grid="verbatim") -> SolveResult:
        """Integrate every run over ``t_span``.

        Parameters
        ----------
        t_span : (float, float)
            Start and end time (end > start).
        y0 : dict, 1-D or 2-D array, optional
            Initial states by state name, one state for all runs, or
            (runs, n_states); default: the system's initial state.
        parameters : dict, 1-D or 2-D array, optional
            Parameters by name (scalars or 1-D arrays to sweep), or
            (runs, n_parameters); default: the system's defaults.
        save_every : float, optional
            Save every ``save_every`` time units from the start (and at the
            end); default: the final state only.
        grid : {"verbatim", "combinatorial"}
        """
        started = time.perf_counter()
        prepared = self.prepare_arguments(t_span, y0, parameters, save_every, grid)
        launch_options = {"copy_back": OUTPUT_ARGUMENTS} if self.backend == "cuda" else {}
        self._kernel.launch(len(prepared.initial), prepared.args, **launch_options)
        states, observables, counters, status = prepared.args[5:]
        if prepared.runs_last:
            states = np.moveaxis(states, -1, 0)
            observables = np.moveaxis(observables, -1, 0)
            counters = counters.T
        return SolveResult(
            t=prepared.times, y=np.ascontiguousarray(states),
            observables=np.ascontiguousarray(observables) if prepared.n_observables else None,
            status=status, n_accepted=counters[:, 0].copy(), n_rejected=counters[:, 1].copy(),
            n_newton_iterations=counters[:, 2].copy(), n_linear_iterations=counters[:, 3].copy(),
            initial_state=prepared.initial,
            parameters={name: prepared.parameters[:, j] for j, name in enumerate(self.system.parameter_names)},
            state_names=self.system.state_names,
            observable_names=self.system.observable_names if prepared.n_observables else (),
            method=self.method, backend=self.backend, precision=self.precision.name,
            wall_time=time.perf_counter() - started,
        )


@attrs.frozen
class KernelArguments:
    """The batch kernel's argument tuple and what went into it."""

    args: tuple
    times: np.ndarray
    initial: np.ndarray
    parameters: np.ndarray
    n_observables: int
    runs_last: bool


def _time_span(t_span) -> tuple[float, float]:
    try:
        t0, t1 = (float(v) for v in t_span)
    except (TypeError, ValueError):
        raise ValueError(f"t_span must be two numbers (start, end), got {t_span!r}") from None
    if not (math.isfinite(t0) and math.isfinite(t1)) or t1 <= t0:
        raise ValueError(f"t_span must be finite with end > start, got {t_span!r}")
    return t0, t1


def solve_ivp(system, t_span, y0=None, parameters=None, method="tsit5", save_every=None,
              grid="verbatim", **settings) -> SolveResult:
    """Solve a batch of initial value problems in one call.

    ``settings`` are those of :class:`Solver` (``step_controller``, ``rtol``,
    ``atol``, ``dt``, ``dt_min``, ``dt_max``, ``max_steps``, ``precision``,
    ``backend``, ...). Compiled code is cached in the process, so repeated
    calls with the same configuration compile once.
    """
    solver = Solver(system, method=method, **settings)
    return solver.solve(t_span, y0=y0, parameters=parameters, save_every=save_every, grid=grid)
