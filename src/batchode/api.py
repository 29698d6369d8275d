"""``solve_ivp`` and ``Solver``: the user-facing entry points."""

from __future__ import annotations

import difflib
import hashlib
import math
import time
import warnings

import attrs
import numpy as np

from batchode.algorithms import estimates_error, get_tableau, make_step
from batchode.algorithms.interpolation import HermiteInterpolant
from batchode.events import EventFunctions
from batchode.backends import resolve_backend
from batchode.batch.body import OUTPUT_POSITIONS, TrajectoryBody, argument_position
from batchode.batch.chunking import (
    CPU_CHUNK_RUNS,
    DEVICE_CHUNK_BYTES,
    DEVICE_MEMORY_FRACTION,
    BatchShape,
    check_host_memory,
    free_device_memory,
    plan_chunks,
    progress_bar,
)
from batchode.batch.grid import RunGrid, build_runs, samples_per_window, save_times
from batchode.batch.kernel import BatchKernel
from batchode.batch.results import SolveInterrupted, SolveResult, make_result
from batchode.batch.store import COUNTER_NAMES, EVENT_OUTPUTS, ResultStore, open_result
from batchode.control import controller_class, make_controller
from batchode.control.base import check_tolerances, tolerance_tuple
from batchode.batch.distributed import distributed_chunk_runs, solve_chunks_on_cluster
from batchode.loop import IntegrationLoop
from batchode.outputs import SummaryOutputs
from batchode.systems.device import SystemFactory
from batchode.status import Status
from batchode.systems.system import ODESystem

PRECISIONS = {"float32": np.float32, "float64": np.float64}

#: Solver settings and their defaults; everything else given to ``update`` is a
#: buffer location or factory key routed into the factory tree.
DEFAULTS = dict(
    method="tsit5", step_controller=None, rtol=1e-6, atol=1e-6, dt=None, dt_min=None,
    dt_max=math.inf, max_steps=100_000, save_observables=True, precision="float64", backend="auto",
    linear_solver=None, newton_tolerance=1e-2, newton_max_iterations=10,
    summaries=(), summarise_variables=None, save_time_series=True, step_to_saves=False, events=(), cache=True,
)


def _precision(value):
    if value is None:
        raise TypeError("precision must be 'float32' or 'float64', got None")
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
        constants for methods with an error estimate, an embedded pair or
        a residual estimate as for ``classical-rk4``; else fixed).
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
        up to 32 states on the CPU and 8 on CUDA, else GMRES). Its own
        settings are factory keys (below), prefixed by its place in the
        tree: ``loop_algorithm_newton_linear_<key>`` under DIRK's Newton,
        ``loop_algorithm_linear_<key>`` in a Rosenbrock step. The Krylov
        solvers take ``tolerance``, ``restart``, ``max_iterations``,
        ``preconditioner`` (None, ``"jacobi"``: the analytic diagonal of
        the Jacobian, from an equation system or a ``jacobian=`` function;
        ``"neumann"``: a truncated Neumann series of ``M^-1`` about its
        diagonal, or of Jacobian-vector products alone for a system with no
        analytic diagonal) and ``neumann_terms`` (default 2), e.g.
        ``loop_algorithm_newton_linear_preconditioner="jacobi"``; see
        :mod:`batchode.solvers.linear.krylov`.
    newton_tolerance : float, default 1e-2
        Implicit methods: Newton stops when the stage update is below this
        fraction of the error weights (atol + |y| rtol).
    newton_max_iterations : int, default 10
    summaries : sequence of str, default ()
        Summary metrics computed inside the loop over the save times
        (``batchode.outputs.METRICS``: mean, min, max, rms, std,
        max_magnitude, extrema, peaks, negative_peaks, dxdt_max, dxdt_min;
        ``"peaks[k]"`` keeps the first k peak times, default 4).
    summarise_variables : sequence of str, optional
        States and observables to summarise (default: every state).
    save_time_series : bool, default True
        False keeps only the final state (and the summaries): no
        time-series output is allocated.
    step_to_saves : bool, default False
        False: saves between steps are filled from the method's
        interpolant, so the steps taken, and the final state, do not
        depend on what is saved. True: every step is shortened to land
        exactly on the save times (more steps when saves are dense).
    events : str, Event, dict or sequence of them, default ()
        Event functions whose zero crossings are located between steps
        and recorded per run (:class:`batchode.events.Event`: expression,
        ``direction``, ``terminal``, ``max_records``, ``name``); a terminal
        event ends a run with status ``TERMINAL_EVENT``. The result's
        ``event_counts``, ``event_times`` and ``event_states`` hold them.
    cache : bool, default True
        Keep the compiled kernel in batchode's disk cache
        (:mod:`batchode.cache`; ``$BATCHODE_CACHE_DIR`` or the user cache
        directory), so a new process with the same configuration loads it
        instead of compiling. False compiles in memory only.

    Notes
    -----
    Run-time settings (``rtol``, ``atol``, ``dt_min``, ``dt_max``,
    ``max_steps``, ``newton_tolerance``, ``newton_max_iterations``, the
    controller's constants, a Krylov solver's ``tolerance`` and
    ``max_iterations``) reach the compiled kernel as arguments: changing
    them with :meth:`update` never recompiles. Everything that shapes the
    code (method, system, precision, backend, controller kind, linear
    solver, summaries, buffer locations) is compiled in.
    **locations
        Buffer locations and settings of the factory tree, e.g.
        ``loop_state_location="shared"``; see :meth:`describe_memory`.
    """

    def __init__(self, system: ODESystem, method="tsit5", **settings):
        if not isinstance(system, ODESystem):
            raise TypeError(f"system must be an ODESystem, got {type(system).__name__}")
        self.system = system
        self._settings = dict(DEFAULTS, method=method)
        self._locations: dict[str, object] = {}
        self._kernel = None
        self._end_only_kernel = None
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
            tree_keys = [key[len("body_"):] for key in kernel.valid_update_keys() if key.startswith("body_")]
            for key in locations:
                if key not in tree_keys:
                    # The solver's own settings first: a typo of 'rtol' should not suggest a tree path.
                    close = (difflib.get_close_matches(key, list(DEFAULTS), n=2, cutoff=0.6)
                             or difflib.get_close_matches(key, tree_keys, n=3, cutoff=0.6))
                    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
                    raise ValueError(f"unknown setting {key!r}{hint} (solver settings: {', '.join(DEFAULTS)}; "
                                     "buffer locations and factory keys: see describe_memory())")
            routed = {f"body_{key}": value for key, value in locations.items()}
            try:
                kernel.update(**routed)
            except ValueError as error:
                raise ValueError(str(error).replace("'body_", "'")) from None
        self._settings, self._locations, self._kernel = settings, locations, kernel
        self._end_only_kernel = None  # made by kernel_for when first needed

    def kernel_for(self, batch: "PreparedBatch") -> BatchKernel:
        """The factory tree that runs ``batch``.

        A batch that saves only the end of its span has nothing to
        interpolate, so it runs a kernel without an interpolant (fewer
        registers on the GPU: measured 64 against 87 for Lorenz Tsit5 in
        float32). Its steps are those of the interpolating kernel, which
        never lets saves change a step.
        """
        if (self._settings["step_to_saves"] or self.loop.events or len(batch.times) > 1
                or batch.times[0] != batch.t1):
            return self._kernel
        if self._end_only_kernel is None:
            kernel = self._make_tree(dict(self._settings, step_to_saves=True))
            valid = kernel.valid_update_keys()
            routed = {f"body_{key}": value for key, value in self._locations.items()}
            kernel.update(**{key: value for key, value in routed.items() if key in valid})
            self._end_only_kernel = kernel
        return self._end_only_kernel

    def _make_tree(self, settings) -> BatchKernel:
        precision = _precision(settings["precision"])
        settings = _checked_numbers(settings, precision, self.system.n_states)
        backend = resolve_backend(settings["backend"]).name
        tableau = get_tableau(settings["method"])
        controller_name = settings["step_controller"]
        if controller_name is None:
            controller_name = "pi" if estimates_error(tableau) else "fixed"
        adaptive = controller_class(controller_name).is_adaptive
        if not adaptive and settings["dt"] is None:
            raise ValueError("step_controller='fixed' needs a step: pass dt=...")
        options = dict(precision=precision, backend=backend)
        system = SystemFactory(self.system, **options)
        newton = dict(rtol=settings["rtol"], atol=settings["atol"], tolerance=settings["newton_tolerance"],
                      max_iterations=settings["newton_max_iterations"])
        step = make_step(tableau, system, compute_error=adaptive, linear_solver=settings["linear_solver"],
                         newton_settings=newton, tolerances=dict(rtol=settings["rtol"], atol=settings["atol"]),
                         dense_output=not settings["step_to_saves"] or bool(settings["events"]))
        controller = make_controller(
            controller_name, tableau.name, tableau.order, n_states=self.system.n_states,
            rtol=settings["rtol"], atol=settings["atol"], **options,
        )
        summaries = SummaryOutputs(system, _metric_list(settings["summaries"]), settings["summarise_variables"])
        events = EventFunctions(system, settings["events"]) if settings["events"] else None
        # A step with its own interpolant serves saves and events itself; the others get the cubic Hermite one.
        needs_interpolant = not settings["step_to_saves"] or events is not None
        interpolant = HermiteInterpolant(system) if needs_interpolant and not step.interpolates else None
        loop = IntegrationLoop(step, controller, summaries, interpolant, events, dt_min=settings["dt_min"],
                               dt_max=settings["dt_max"], max_steps=settings["max_steps"],
                               save_observables=bool(settings["save_observables"]),
                               save_time_series=bool(settings["save_time_series"]),
                               step_to_saves=bool(settings["step_to_saves"]))
        return BatchKernel(TrajectoryBody(loop), disk_cache=bool(settings["cache"]))

    @property
    def locations(self) -> dict:
        """The buffer locations and factory keys given to :meth:`update` (a copy)."""
        return dict(self._locations)

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
        """The factory tree's root (the kernel of batches with saves; see :meth:`kernel_for`)."""
        return self._kernel

    def describe_memory(self, t_span=None, **batch) -> str:
        """The registry tree (every buffer's location, size and offsets, per-pool totals).

        With ``t_span`` and the other arguments of :meth:`solve` (``y0``,
        ``parameters``, ``save_every``, ``grid``, ``summarise_every``,
        ``chunk_memory``, ``chunk_runs``), also the batch's array sizes and
        its chunks, computed without compiling anything.
        """
        tree = self._kernel.child("body").describe_memory()
        if t_span is None:
            return tree
        limits = {key: batch.pop(key, None) for key in ("chunk_memory", "chunk_runs")}
        shape = self.prepare(t_span, **batch).shape
        chunks = plan_chunks(shape, self._chunk_budget(limits["chunk_memory"]), self._chunk_runs(limits["chunk_runs"]),
                             progress=None if limits["chunk_runs"] is None else False, backend=self.backend)
        largest = max(stop - start for start, stop in chunks)
        return f"{tree}\nbatch: {shape.describe()}\nchunks: {len(chunks)} of up to {largest} runs"

    # -- solving ----------------------------------------------------------------
    def prepare(self, t_span, y0=None, parameters=None, save_every=None, grid="verbatim",
                summarise_every=None, t_eval=None, save_from=None) -> "PreparedBatch":
        """Validate a batch's inputs and work out its shapes; nothing is compiled or launched.

        Takes the arguments of :meth:`solve` of the same names.
        """
        t0, t1 = _time_span(t_span)
        initial, params, run_grid = build_runs(self.system, y0, parameters, grid)
        times = save_times(t0, t1, save_every, t_eval, save_from)
        summaries = self.loop.child("summaries")
        if summaries.is_active:
            if save_every is None and t_eval is None:
                raise ValueError("summary metrics are taken over the save times: pass save_every=... or "
                                 "t_eval=... (and save_time_series=False to keep only the summaries)")
            per_window = samples_per_window(summarise_every, save_every, len(times))
        elif summarise_every is not None:
            raise ValueError("summarise_every needs summary metrics: pass summaries=['mean', ...]")
        else:
            per_window = len(times)
        n_windows = max(math.ceil((len(times) - 1) / per_window), 1)
        window_ends = times[np.minimum(per_window * np.arange(1, n_windows + 1), len(times) - 1)]
        # dt = 0 asks the loop for its automatic first step (adaptive only).
        dt = self._settings["dt"] if self._settings["dt"] is not None else 0.0
        if not self.loop.is_adaptive:
            needed = math.ceil(abs(t1 - t0) / dt) + (len(times) if self._settings["step_to_saves"] else 1)
            if needed > self._settings["max_steps"]:
                raise ValueError(f"fixed dt={dt} needs about {needed} steps over {t_span}, more than "
                                 f"max_steps={self._settings['max_steps']}; raise max_steps or dt")
        n_obs = self.system.n_observables if self._settings["save_observables"] else 0
        shape = BatchShape(
            n_runs=len(initial), n_states=self.system.n_states, n_parameters=self.system.n_parameters,
            state_rows=len(times) if self._settings["save_time_series"] else 1,
            observable_columns=max(n_obs, 1), n_windows=n_windows if summaries.is_active else 1,
            summary_width=summaries.width, itemsize=self.precision.itemsize,
            n_events=max(len(self.loop.events), 1),
            event_records=max((event.max_records for event in self.loop.events), default=1),
        )
        return PreparedBatch(t0, t1, dt, times, per_window, window_ends, initial, params, n_obs, shape,
                             run_grid)

    def chunk_arguments(self, batch: "PreparedBatch", start: int, stop: int, outputs=None) -> tuple:
        """The batch kernel's arguments for runs ``start .. stop-1``.

        ``outputs`` (run-major arrays ``(states, observables, summaries,
        counters, status)`` of exactly those runs) are written in place when
        the backend's layout is run-major (CPU); otherwise fresh arrays in
        the backend's layout are made.
        """
        dtype = self.precision.type
        if outputs is None or self._runs_last:
            outputs = batch.shape.allocate_outputs(dtype, runs=stop - start, runs_last=self._runs_last)
        # Time is float64 whatever the working precision (the loop's contract).
        return (np.float64(batch.t0), np.float64(batch.t1), np.float64(batch.dt),
                batch.initial[start:stop].astype(dtype),
                batch.parameters[start:stop].astype(dtype), batch.times.astype(np.float64),
                np.int64(batch.per_window), self.kernel_for(batch).runtime_vector(), *outputs)

    def prepare_arguments(self, t_span, y0=None, parameters=None, save_every=None,
                          grid="verbatim", summarise_every=None, t_eval=None,
                          save_from=None) -> "KernelArguments":
        """Validated kernel arguments for the whole batch in one launch (benchmarks, PTX checks)."""
        batch = self.prepare(t_span, y0, parameters, save_every, grid, summarise_every, t_eval, save_from)
        return KernelArguments(self.chunk_arguments(batch, 0, batch.shape.n_runs), batch, self.kernel_for(batch))

    def solve(self, t_span, y0=None, parameters=None, save_every=None, grid="verbatim", summarise_every=None,
              output=None, chunk_memory=None, chunk_runs=None, progress=None, overwrite=False,
              client=None, t_eval=None, save_from=None) -> SolveResult:
        """Integrate every run over ``t_span``.

        Parameters
        ----------
        t_span : (float, float)
            Start and end time; an end before the start integrates
            backwards in time.
        y0 : dict, 1-D or 2-D array, optional
            Initial states by state name, one state for all runs, or
            (runs, n_states); default: the system's initial state.
        parameters : dict, 1-D or 2-D array, optional
            Parameters by name (scalars or 1-D arrays to sweep), or
            (runs, n_parameters); default: the system's defaults.
        save_every : float, optional
            Save every ``save_every`` time units from the start (and at the
            end); default: the final state only. The save times are also the
            samples of the summary metrics. Saves between steps are
            interpolated (unless ``step_to_saves``), so they do not change
            the steps taken.
        grid : {"verbatim", "combinatorial"}
            ``"verbatim"``: run i takes entry i of every swept input.
            ``"combinatorial"``: every combination, the swept initial
            states then parameters in the order given, the first varying
            slowest; the result's ``grid`` and ``to_xarray()`` keep the grid.
        summarise_every : float, optional
            Length of the summary windows, a multiple of ``save_every``;
            default: one window over the whole run.
        output : str or os.PathLike, optional
            A Zarr store (extra ``export``) that receives the results chunk
            by chunk; the returned result reads ``y`` and ``observables``
            from it on demand. Needed when the results exceed host memory.
        chunk_memory : int, optional
            Bytes one chunk's inputs and outputs may take (default on CUDA:
            half the free device memory shared by the two chunks in flight,
            at most 4 GiB each; unlimited on the CPU). On CUDA two chunks
            are in flight, each on its own stream, so one chunk's copies
            overlap another's compute; each also holds as much pinned host
            memory.
        chunk_runs : int, optional
            Most runs per chunk (default: 65536 on the CPU, unlimited on CUDA).
        progress : bool, optional
            Show a progress bar over chunks (tqdm). Default: when stderr is a
            terminal, appearing only if the solve takes more than 2 seconds.
            Unless False (or ``chunk_runs`` is given), a chunk holds at most a
            twentieth of the runs (but not fewer than
            :func:`~batchode.batch.chunking.progress_floor`), so the bar moves.
        overwrite : bool, default False
            An ``output`` store that already holds this same sweep (same
            system, settings, inputs and chunks) is resumed: its completed
            chunks are kept and only the others computed. One holding
            anything else is an error unless ``overwrite=True``.
        client : dask.distributed.Client, optional
            Run the chunks on a Dask cluster (extra ``distributed``; see
            :mod:`batchode.batch.distributed`); the result is the same.
        t_eval : sequence of float, optional
            The save times, instead of ``save_every``: shared by every run,
            strictly increasing (decreasing when integrating backwards) and
            within ``t_span``.
        save_from : float, optional
            With ``save_every``: the first save time. Nothing before it is
            saved or summarised (a transient), but every run still starts
            at the start of ``t_span``.

        Returns
        -------
        SolveResult
            ``chunks_computed`` says how many chunks this call computed.

        Raises
        ------
        ValueError
            For bad inputs (before any compilation or launch).
        MemoryError
            Before launch, when the results cannot fit in host memory and
            no ``output`` is given; the message gives the sizes.
        FileExistsError
            When ``output`` holds a different sweep and ``overwrite`` is False.
        """
        started = time.perf_counter()
        batch = self.prepare(t_span, y0, parameters, save_every, grid, summarise_every, t_eval, save_from)
        shape = batch.shape
        if client is not None and chunk_runs is None and chunk_memory is None:
            chunk_runs = distributed_chunk_runs(shape.n_runs, client)
        chunks = plan_chunks(shape, self._chunk_budget(chunk_memory), self._chunk_runs(chunk_runs),
                             progress=progress if chunk_runs is None else False, backend=self.backend)
        check_host_memory(shape, streaming=output is not None, staging_bytes=0 if client is not None else self._staging_bytes(shape, chunks))
        store = None if output is None else self._open_store(output, batch, chunks, overwrite)
        completed = set() if store is None else set(store.completed_chunks)  # one read of the store
        todo = [i for i in range(len(chunks)) if i not in completed]
        results = None if store is not None else shape.allocate_outputs(self.precision)
        compile_time = 0.0
        if client is None and todo:  # a cluster's workers compile (or load) their own kernels
            compile_time = self.kernel_for(batch).compile_for(
                self.chunk_arguments(batch, 0, 1), f"{self.method} kernel for {self.system.n_states} states",
                notice=progress)
            started += compile_time
        bar = progress_bar(progress, sum(chunks[i][1] - chunks[i][0] for i in todo))
        finished_chunks = []
        try:
            if client is not None:
                solve_chunks_on_cluster(self, batch, chunks, todo, client, store, results, bar)
            else:
                jobs = self._chunk_jobs(batch, chunks, todo, results)
                for index, outputs in self.kernel_for(batch).run_chunks(jobs, OUTPUT_POSITIONS):
                    start, stop = chunks[index]
                    produced = self._run_major(outputs)
                    if store is not None:
                        store.write_chunk(index, self.store_outputs(produced, batch))
                    elif self._runs_last:  # not written in place
                        for target, values in zip(results, produced):
                            target[start:stop] = values
                    finished_chunks.append(index)
                    bar.update(stop - start)
        except KeyboardInterrupt:
            raise self._interrupted(batch, results, output, len(finished_chunks), len(todo),
                                    time.perf_counter() - started) from None
        finally:
            bar.close()
        wall_time = time.perf_counter() - started
        if store is not None:
            result = open_result(output, wall_time=wall_time)
        else:
            result = self._result(batch, *results, wall_time=wall_time)
        return attrs.evolve(result, chunks_computed=len(todo), compile_time=compile_time)

    def _interrupted(self, batch, results, output, finished_chunks, todo_chunks, wall_time) -> SolveInterrupted:
        """What a Ctrl-C during :meth:`solve` leaves: the finished runs, and a message saying what was lost."""
        if results is None:
            return SolveInterrupted(
                f"batchode: interrupted after {finished_chunks} of the {todo_chunks} chunks this solve had to "
                f"compute; they are in {output!s} and the same solve (same arguments) resumes the others")
        states, observables, summary, counters, status, end_state, end_time, _, event_times, event_states = results
        not_run = status == int(Status.NOT_RUN)
        for values in (states, observables, summary, end_state, end_time, event_times, event_states):
            values[not_run] = np.nan  # nothing was integrated
        for values in (counters, results[7]):
            values[not_run] = 0
        result = self._result(batch, *results, wall_time=wall_time)
        return SolveInterrupted(
            f"batchode: interrupted; {int((~not_run).sum())} of {len(status)} runs finished and are in this "
            f"exception's .result, the other {int(not_run.sum())} have status NOT_RUN and NaN outputs", result)

    def _chunk_jobs(self, batch, chunks, todo, results):
        """``(index, runs, kernel arguments)`` of each chunk to compute, made when asked for."""
        for index in todo:
            start, stop = chunks[index]
            in_place = None if results is None else tuple(array[start:stop] for array in results)
            yield index, stop - start, self.chunk_arguments(batch, start, stop, in_place)

    def run_chunk(self, batch: "PreparedBatch", start: int, stop: int, outputs=None) -> tuple:
        """Launch the kernel on runs ``start .. stop-1``; return their outputs run-major.

        ``outputs`` as for :meth:`chunk_arguments` (written in place where
        the layout allows). Returns ``(states, observables, summaries,
        counters, status)`` of those runs.
        """
        args = self.chunk_arguments(batch, start, stop, outputs)
        copy_back = {"copy_back": OUTPUT_POSITIONS} if self.backend == "cuda" else {}
        self.kernel_for(batch).launch(stop - start, args, **copy_back)
        return self._run_major(args[argument_position("states"):])

    @property
    def configuration_key(self) -> str:
        """Hash of the system and the user's settings (what a worker needs to rebuild this solver)."""
        settings = (sorted((k, repr(v)) for k, v in self._settings.items()),
                    sorted((k, repr(v)) for k, v in self._locations.items()))
        return hashlib.sha256((self.system.cache_key + repr(settings)).encode()).hexdigest()

    def fingerprint(self, batch: "PreparedBatch", chunks) -> str:
        """Hash of everything that decides a sweep's results: system, settings, inputs, chunks."""
        digest = hashlib.sha256(self.configuration_key.encode())
        digest.update(repr((batch.t0, batch.t1, batch.dt, batch.per_window, list(map(list, chunks)),
                            batch.grid.to_json())).encode())
        for array in (batch.times, batch.initial, batch.parameters):
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()

    def _open_store(self, output, batch, chunks, overwrite) -> ResultStore:
        shape, summaries = batch.shape, self.loop.child("summaries")
        return ResultStore.create_or_resume(
            output, fingerprint=self.fingerprint(batch, chunks), overwrite=overwrite, chunks=chunks,
            times=batch.times if self._settings["save_time_series"] else batch.times[-1:],
            initial_state=batch.initial, parameters=batch.parameters, state_rows=shape.state_rows,
            n_observables=batch.n_observables,
            summary_shape=(shape.n_windows, shape.summary_width) if summaries.is_active else None,
            event_shape=(shape.n_events, shape.event_records) if self.loop.events else None,
            precision=self.precision, metadata=self._store_metadata(batch),
        )

    # -- solve helpers ------------------------------------------------------------
    def _chunk_budget(self, chunk_memory):
        if chunk_memory is not None:
            if not (isinstance(chunk_memory, (int, np.integer)) and chunk_memory > 0):
                raise ValueError(f"chunk_memory must be a positive number of bytes, got {chunk_memory!r}")
            return int(chunk_memory)
        if self.backend == "cuda":
            free = free_device_memory()
            if free is None:
                return None
            in_flight = self._kernel.backend.chunks_in_flight
            return min(int(free * DEVICE_MEMORY_FRACTION) // in_flight, DEVICE_CHUNK_BYTES)
        return None

    def _staging_bytes(self, shape, chunks) -> int:
        """Host memory CUDA's pinned copy buffers take: a chunk's arrays per chunk in flight."""
        if self.backend != "cuda":  # the CPU writes straight into the results
            return 0
        largest = max(stop - start for start, stop in chunks)
        return self._kernel.backend.chunks_in_flight * largest * shape.bytes_per_run

    def _chunk_runs(self, chunk_runs):
        if chunk_runs is not None:
            if not (isinstance(chunk_runs, (int, np.integer)) and chunk_runs > 0):
                raise ValueError(f"chunk_runs must be a positive integer, got {chunk_runs!r}")
            return int(chunk_runs)
        return CPU_CHUNK_RUNS if self.backend == "cpu" else None

    @property
    def _runs_last(self) -> bool:
        """Whether the kernel's outputs have the run axis last (CUDA's coalesced layout)."""
        return self._kernel.child("body").runs_last

    def _run_major(self, outputs) -> tuple:
        """Kernel outputs with the run axis first (a view where the layout already is)."""
        if not self._runs_last:
            return tuple(outputs)
        states, observables, summary, counters, status, end_state, end_time, *events = outputs
        return (np.moveaxis(states, -1, 0), np.moveaxis(observables, -1, 0), np.moveaxis(summary, -1, 0),
                counters.T, status, end_state.T, end_time, *(np.moveaxis(values, -1, 0) for values in events))

    def store_outputs(self, produced, batch) -> dict:
        """Run-major outputs of a chunk by their name in a :class:`ResultStore`."""
        states, observables, summary, counters, status, end_state, end_time, *events = produced
        outputs = {"y": states, "status": status, "t_final": end_time, "y_final": end_state}
        if self.loop.events:
            outputs.update(zip(EVENT_OUTPUTS, events))
        outputs.update({name: counters[:, j] for j, name in enumerate(COUNTER_NAMES)})
        if batch.n_observables:
            outputs["observables"] = observables[:, :, :batch.n_observables]
        if self.loop.child("summaries").is_active:
            outputs["summaries"] = summary
        return outputs

    def _summary_metadata(self, batch) -> dict:
        summaries = self.loop.child("summaries")
        return dict(summary_layout=[[name, list(components), offset] for name, components, offset in summaries.layout],
                    summary_variables=list(summaries.variables),
                    summary_times=[float(t) for t in batch.window_ends] if summaries.is_active else [])

    def _store_metadata(self, batch) -> dict:
        return dict(self._summary_metadata(batch), state_names=list(self.system.state_names),
                    observable_names=list(self.system.observable_names if batch.n_observables else ()),
                    parameter_names=list(self.system.parameter_names), method=self.method,
                    backend=self.backend, precision=self.precision.name, grid=batch.grid.to_json(),
                    event_names=[event.name for event in self.loop.events])

    def _event_fields(self, counts, times, states) -> dict:
        """The result's event fields from the kernel's event outputs (nothing without events)."""
        events = self.loop.events
        if not events:
            return {}
        return dict(event_names=tuple(event.name for event in events), event_counts=counts, event_times=times,
                    event_states=states)

    def _result(self, batch, states, observables, summary, counters, status, end_state, end_time, event_counts,
                event_times, event_states, wall_time) -> SolveResult:
        metadata = self._summary_metadata(batch)
        return make_result(
            metadata, t=batch.times if self._settings["save_time_series"] else batch.times[-1:], y=states,
            observables=observables if batch.n_observables else None, summary=summary, status=status,
            t_final=end_time, y_final=end_state, **self._event_fields(event_counts, event_times, event_states),
            counters=[counters[:, j] for j in range(4)], initial_state=batch.initial,
            parameters={name: batch.parameters[:, j] for j, name in enumerate(self.system.parameter_names)},
            state_names=self.system.state_names,
            observable_names=self.system.observable_names if batch.n_observables else (),
            method=self.method, backend=self.backend, precision=self.precision.name, wall_time=wall_time,
            grid=batch.grid,
        )


@attrs.frozen
class PreparedBatch:
    """A validated batch: inputs on the grid, save times, summary windows, array sizes."""

    t0: float
    t1: float
    dt: float
    times: np.ndarray
    per_window: int
    window_ends: np.ndarray
    initial: np.ndarray
    parameters: np.ndarray
    n_observables: int
    shape: BatchShape
    grid: RunGrid


@attrs.frozen
class KernelArguments:
    """The batch kernel's argument tuple for a whole batch, the batch, and the kernel that runs it."""

    args: tuple
    batch: PreparedBatch
    kernel: BatchKernel


def _time_span(t_span) -> tuple[float, float]:
    try:
        t0, t1 = (float(v) for v in t_span)
    except (TypeError, ValueError):
        raise ValueError(f"t_span must be two numbers (start, end), got {t_span!r}") from None
    if not (math.isfinite(t0) and math.isfinite(t1)) or t1 == t0:
        raise ValueError(f"t_span must be two different finite times (an end before the start integrates "
                         f"backwards), got {t_span!r}")
    return t0, t1


def solve_ivp(system, t_span, y0=None, parameters=None, method="tsit5", save_every=None,
              grid="verbatim", summarise_every=None, output=None, chunk_memory=None, chunk_runs=None,
              progress=None, overwrite=False, client=None, t_eval=None, save_from=None,
              **settings) -> SolveResult:
    """Solve a batch of initial value problems in one call.

    The arguments before ``settings`` are those of :meth:`Solver.solve`;
    ``settings`` are those of :class:`Solver` (``step_controller``, ``rtol``,
    ``atol``, ``dt``, ``dt_min``, ``dt_max``, ``max_steps``, ``precision``,
    ``backend``, ``summaries``, ...). Compiled code is cached in the process,
    so repeated calls with the same configuration compile once.
    """
    solver = Solver(system, method=method, **settings)
    return solver.solve(t_span, y0=y0, parameters=parameters, save_every=save_every, grid=grid,
                        summarise_every=summarise_every, output=output, chunk_memory=chunk_memory,
                        chunk_runs=chunk_runs, progress=progress, overwrite=overwrite, client=client,
                        t_eval=t_eval, save_from=save_from)


#: Default smallest adaptive step (``dt_min=None``).
DEFAULT_DT_MIN = 1e-12
#: Relative tolerances below this many machine epsilons of the working
#: precision cannot be met (an error estimate is itself rounded at a few
#: eps); like scipy (which uses 100 eps of float64), they are raised to it
#: with a warning. 5 keeps float32's customary rtol = 1e-6 (8.4 eps).
RTOL_FLOOR_EPSILONS = 5


def _real(name: str, value, *, positive: bool, allow_inf: bool = False) -> float:
    """``value`` as a float, or a ValueError/TypeError naming ``name`` and what was expected."""
    expected = "a positive number (> 0)" if positive else "a non-negative number (>= 0)"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be {expected}, got {value!r} ({type(value).__name__})")
    value = float(value)
    if math.isnan(value) or (math.isinf(value) and not allow_inf) or value < 0 or (positive and value == 0):
        raise ValueError(f"{name} must be {expected}{' (inf allowed)' if allow_inf else ''}, got {value!r}")
    return value


def _count(name: str, value, minimum: int = 1) -> int:
    """``value`` as an int of at least ``minimum``; a float, bool or string is refused, not rounded."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _checked_numbers(settings: dict, precision, n_states: int) -> dict:
    """The settings with every number checked (before anything is built) and ``rtol`` floored.

    Raises
    ------
    TypeError, ValueError
        Naming the setting, the value given and what was expected.
    """
    checked = dict(settings)
    rtol, atol = tolerance_tuple(settings["rtol"], "rtol"), tolerance_tuple(settings["atol"], "atol")
    check_tolerances(rtol, atol, n_states)
    floor = RTOL_FLOOR_EPSILONS * float(np.finfo(precision).eps)
    if min(rtol) < floor:
        warnings.warn(f"rtol={settings['rtol']!r} is below {RTOL_FLOOR_EPSILONS} machine epsilons of "
                      f"{np.dtype(precision).name} ({floor:.1e}), which no error estimate can resolve; "
                      f"using rtol = max(rtol, {floor:.1e})", UserWarning, stacklevel=4)
        rtol = tuple(max(v, floor) for v in rtol)
    checked.update(rtol=rtol, atol=atol)
    if settings["dt"] is not None:
        checked["dt"] = _real("dt", settings["dt"], positive=True)
    dt_min = DEFAULT_DT_MIN if settings["dt_min"] is None else _real("dt_min", settings["dt_min"], positive=True)
    dt_max = _real("dt_max", settings["dt_max"], positive=True, allow_inf=True)
    if dt_min > dt_max:
        raise ValueError(f"dt_min={dt_min!r} is larger than dt_max={dt_max!r}; expected dt_min <= dt_max")
    checked.update(dt_min=dt_min, dt_max=dt_max, max_steps=_count("max_steps", settings["max_steps"]),
                   newton_tolerance=_real("newton_tolerance", settings["newton_tolerance"], positive=True),
                   newton_max_iterations=_count("newton_max_iterations", settings["newton_max_iterations"]))
    for flag in ("save_observables", "save_time_series", "step_to_saves", "cache"):
        if not isinstance(settings[flag], (bool, np.bool_)):
            raise TypeError(f"{flag} must be True or False, got {settings[flag]!r}")
    return checked


def _metric_list(summaries) -> tuple:
    if isinstance(summaries, str):
        return (summaries,)
    return tuple(summaries or ())
