"""``solve_ivp`` and ``Solver``: the public face.

A solver checks its settings, builds its factory tree (:mod:`batchode.tree`)
and hands each batch to the orchestrator (:mod:`batchode.batch`), which
prepares, plans, launches and records it.
"""

from __future__ import annotations

import hashlib
import time

import numpy as np

from batchode.batch.chunking import plan_batch
from batchode.batch.distributed import SolverSpec
from batchode.batch.kernel import BatchKernel
from batchode.batch.launch import KernelArguments, chunk_arguments
from batchode.batch.prepare import PreparedBatch, prepare_batch
from batchode.batch.results import SolveResult
from batchode.batch.run import Solve, solve_batch
from batchode.docstrings import METHOD, SETTINGS, SOLVE_PARAMETERS, SOLVE_RESULTS, document
from batchode.loop import IntegrationLoop
from batchode.options import BY_NAME, defaults
from batchode.options.check import checked_settings
from batchode.systems.system import ODESystem
from batchode.tree import build_tree

#: The method when none is given.
DEFAULT_METHOD = "tsit5"


@document(method=METHOD, settings=SETTINGS)
class Solver:
    """Compiles once for a system and a method, then solves many batches.

    Parameters
    ----------
    system : ODESystem
    {method}
    **settings
        The settings below, by keyword. Each one applies whatever the
        method's family; one given for a method it does not apply to (a
        preconditioner for an explicit method) is an error. Run-time
        settings (tolerances, step bounds, iteration caps, controller
        constants) reach the compiled kernel as arguments: changing them
        with :meth:`update` never recompiles. Everything that shapes the
        code (method, precision, backend, controller kind, linear solver,
        summaries, buffer locations) is compiled in.

    {settings}
    """

    def __init__(self, system: ODESystem, method=DEFAULT_METHOD, **settings):
        if not isinstance(system, ODESystem):
            raise TypeError(f"system must be an ODESystem, got {type(system).__name__}")
        self.system = system
        self._given: dict = {}
        self._tree_settings: dict = {}
        self.update(method=method, **settings)

    # -- configuration --------------------------------------------------------
    def update(self, **changes) -> None:
        """Change settings (those of :class:`Solver`); only factories whose configuration changed recompile.

        ``None`` puts a setting whose default is None back to it. An unknown key raises
        ``ValueError`` with the closest setting's name (and batchode's name
        for one from scipy, DifferentialEquations.jl or diffrax); a setting
        that does not apply to the method raises too. Builds are cached by
        configuration hash, so rebuilding the factory tree reuses every
        compiled piece that did not change.
        """
        given, tree_settings = dict(self._given), dict(self._tree_settings)
        for key, value in changes.items():
            if key in BY_NAME and value is None and BY_NAME[key].default is None:
                given.pop(key, None)
            elif key in BY_NAME or key == "method":
                given[key] = value
            else:
                tree_settings[key] = value
        settings = checked_settings({"method": DEFAULT_METHOD, **defaults(), **given}, self.system.n_states)
        kernel = build_tree(self.system, settings, given, tree_settings)
        self._given, self._tree_settings, self._settings, self._kernel = given, tree_settings, settings, kernel
        self._end_only_kernel = None  # made by kernel_for when first needed

    def kernel_for(self, batch: PreparedBatch) -> BatchKernel:
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
            self._end_only_kernel = build_tree(self.system, dict(self._settings, step_to_saves=True),
                                               tree_settings=self._tree_settings, strict=False)
        return self._end_only_kernel

    @property
    def settings(self) -> dict:
        """Every setting (a copy), checked: the defaults and what was given."""
        return dict(self._settings)

    @property
    def tree_settings(self) -> dict:
        """The factory tree's own keys given to :meth:`update` (the expert route; a copy)."""
        return dict(self._tree_settings)

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

    @property
    def configuration_key(self) -> str:
        """Hash of the system and the settings given (what a worker needs to rebuild this solver)."""
        given = (sorted((k, repr(v)) for k, v in self._given.items()),
                 sorted((k, repr(v)) for k, v in self._tree_settings.items()))
        return hashlib.sha256((self.system.cache_key + repr(given)).encode()).hexdigest()

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
        chunks = plan_batch(shape, self._kernel.backend, **limits)
        largest = max(stop - start for start, stop in chunks)
        return f"{tree}\nbatch: {shape.describe()}\nchunks: {len(chunks)} of up to {largest} runs"

    # -- solving ----------------------------------------------------------------
    def prepare(self, t_span, y0=None, parameters=None, save_every=None, grid="verbatim",
                summarise_every=None, t_eval=None, save_from=None) -> PreparedBatch:
        """Validate a batch's inputs and work out its shapes; nothing is compiled or launched.

        Takes the arguments of :meth:`solve` of the same names.
        """
        return prepare_batch(self.system, self.loop, self._settings["dt"], t_span, y0, parameters, save_every,
                             grid, summarise_every, t_eval, save_from)

    def chunk_arguments(self, batch: PreparedBatch, start: int, stop: int, outputs=None) -> tuple:
        """The batch kernel's arguments for runs ``start .. stop-1`` (:func:`batchode.batch.launch.chunk_arguments`)."""
        return chunk_arguments(self.kernel_for(batch), batch, start, stop, outputs)

    def prepare_arguments(self, t_span, **batch) -> KernelArguments:
        """Validated kernel arguments for the whole batch in one launch (benchmarks, PTX checks).

        Takes the arguments of :meth:`prepare`.
        """
        prepared = self.prepare(t_span, **batch)
        kernel = self.kernel_for(prepared)
        return KernelArguments(chunk_arguments(kernel, prepared, 0, prepared.shape.n_runs), prepared, kernel)

    @document(parameters=SOLVE_PARAMETERS, results=SOLVE_RESULTS)
    def solve(self, t_span, y0=None, parameters=None, save_every=None, grid="verbatim", summarise_every=None,
              output=None, chunk_memory=None, chunk_runs=None, progress=None, overwrite=False,
              client=None, t_eval=None, save_from=None) -> SolveResult:
        """Integrate every run over ``t_span``.

        Parameters
        ----------
        {parameters}

        {results}
        """
        started = time.perf_counter()
        batch = self.prepare(t_span, y0, parameters, save_every, grid, summarise_every, t_eval, save_from)
        spec = SolverSpec(type(self), self.system, {**self._given, **self._tree_settings}, self.configuration_key)
        solve = Solve(self.system, self.kernel_for(batch), batch, spec, output=output, chunk_memory=chunk_memory,
                      chunk_runs=chunk_runs, progress=progress, overwrite=overwrite, client=client)
        return solve_batch(solve, started)


@document(method=METHOD, parameters=SOLVE_PARAMETERS, results=SOLVE_RESULTS, settings=SETTINGS)
def solve_ivp(system, t_span, y0=None, parameters=None, method=DEFAULT_METHOD, save_every=None,
              grid="verbatim", summarise_every=None, output=None, chunk_memory=None, chunk_runs=None,
              progress=None, overwrite=False, client=None, t_eval=None, save_from=None,
              **settings) -> SolveResult:
    """Solve a batch of initial value problems in one call.

    Makes a :class:`Solver` of ``system``, ``method`` and the settings, and
    calls its :meth:`~Solver.solve` with the other arguments. Compiled code
    is cached in the process and on disk, so repeated calls with the same
    configuration compile once.

    Parameters
    ----------
    system : ODESystem
        The equations (:meth:`ODESystem.from_equations` or
        :meth:`ODESystem.from_function`).
    {parameters}
    {method}

    {results}

    {settings}
    """
    solver = Solver(system, method=method, **settings)
    return solver.solve(t_span, y0=y0, parameters=parameters, save_every=save_every, grid=grid,
                        summarise_every=summarise_every, output=output, chunk_memory=chunk_memory,
                        chunk_runs=chunk_runs, progress=progress, overwrite=overwrite, client=client,
                        t_eval=t_eval, save_from=save_from)
