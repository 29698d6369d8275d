"""The chunk loop: a prepared batch planned into chunks, run here or on a cluster, into a result.

Each chunk's outputs go to the result arrays (written in place on the CPU)
or, with ``output=``, to a Zarr store as soon as the chunk is done, so an
interrupted or failed solve keeps every finished chunk and the same solve
resumes the others.
"""

from __future__ import annotations

import time
import warnings

import attrs
import numpy as np

from batchode.batch.body import SCHEMA
from batchode.batch.chunking import check_host_memory, plan_batch, progress_bar, staging_bytes
from batchode.batch.distributed import distributed_chunk_runs, solve_chunks_on_cluster
from batchode.batch.launch import chunk_arguments, run_major
from batchode.batch.records import assemble_result, open_store
from batchode.batch.results import SolveInterrupted, SolveResult
from batchode.batch.store import open_result
from batchode.status import Status


@attrs.frozen
class Solve:
    """One solve of a prepared batch: what it runs, where its results go, how it is cut.

    Attributes
    ----------
    system : ODESystem
    kernel : BatchKernel
        The kernel that runs the batch.
    batch : PreparedBatch
    spec : SolverSpec
        What a cluster's workers need to rebuild the solver; its ``key``
        identifies the configuration in a store's fingerprint.
    output, chunk_memory, chunk_runs, progress, overwrite, client
        The arguments of ``Solver.solve`` of the same names.
    """

    system: object
    kernel: object
    batch: object
    spec: object
    output: object = None
    chunk_memory: int | None = None
    chunk_runs: int | None = None
    progress: bool | None = None
    overwrite: bool = False
    client: object = None

    def chunks(self) -> list:
        """The run ranges of the chunks (a cluster's default gives each worker thread several)."""
        chunk_runs = self.chunk_runs
        if self.client is not None and chunk_runs is None and self.chunk_memory is None:
            chunk_runs = distributed_chunk_runs(self.batch.shape.n_runs, self.client)
        return plan_batch(self.batch.shape, self.kernel.backend, self.chunk_memory, chunk_runs, self.progress)


def solve_batch(solve: Solve, started: float) -> SolveResult:
    """Run every chunk of ``solve`` not already in its store; return the result.

    ``started`` is when the solve began (``time.perf_counter()``): the
    result's ``wall_time`` counts from there, compiling excluded.

    Raises
    ------
    MemoryError
        Before launch, when the results cannot fit in host memory.
    SolveInterrupted
        On Ctrl-C, with what was finished.
    """
    batch, kernel = solve.batch, solve.kernel
    chunks = solve.chunks()
    on_cluster = solve.client is not None
    check_host_memory(batch.shape, streaming=solve.output is not None,
                      staging_bytes=0 if on_cluster else staging_bytes(kernel.backend, batch.shape, chunks))
    store = None if solve.output is None else open_store(solve.system, kernel, batch, chunks, solve.output,
                                                         solve.overwrite, solve.spec.key)
    completed = set() if store is None else set(store.completed_chunks)  # one read of the store
    todo = [i for i in range(len(chunks)) if i not in completed]
    results = None if store is not None else batch.shape.allocate_outputs()
    compile_time = 0.0
    if not on_cluster and todo:  # a cluster's workers compile (or load) their own kernels
        method = kernel.child("body").child("loop").child("algorithm").tableau.name
        description = f"{method} kernel for {batch.shape.n_states} states"
        compile_time = kernel.compile_for(chunk_arguments(kernel, batch, 0, 1), description, notice=solve.progress)
        started += compile_time
    bar = progress_bar(solve.progress, sum(chunks[i][1] - chunks[i][0] for i in todo))
    finished = []
    try:
        if on_cluster:
            solve_chunks_on_cluster(solve.spec, batch, chunks, todo, solve.client, store, results, bar)
        else:
            _run_here(kernel, batch, chunks, todo, store, results, bar, finished)
    except KeyboardInterrupt:
        raise _interrupted(solve, results, len(finished), len(todo), time.perf_counter() - started) from None
    finally:
        bar.close()
    wall_time = time.perf_counter() - started
    if store is not None:
        result = open_result(solve.output, wall_time=wall_time)
    else:
        result = assemble_result(solve.system, kernel, batch, results, wall_time)
    _warn_of_stalled_linear_solves(result)
    return attrs.evolve(result, chunks_computed=len(todo), compile_time=compile_time)


#: Runs whose linear-solver failures reach this fraction of their accepted
#: steps are warned of: a solver failing that often is driving the step
#: size down (float32 GMRES at an unreachable 1e-8 failed once per two
#: accepted steps and took 250 times the dense LU's steps).
STALLED_LINEAR_SOLVES = 0.1


def _warn_of_stalled_linear_solves(result: SolveResult) -> None:
    """Warn when some runs' linear solves failed often enough to have shrunk their steps much."""
    failures = np.asarray(result.n_linear_solver_failures)
    stalled = failures >= np.maximum(STALLED_LINEAR_SOLVES * np.asarray(result.n_accepted), 1)
    if stalled.any():
        # stacklevel: this function, solve_batch, Solver.solve, then the user's call.
        warnings.warn(f"{int(stalled.sum())} of {len(failures)} runs had a linear solve fail on at least "
                      f"{STALLED_LINEAR_SOLVES:.0%} as many step attempts as they accepted (n_linear_solver_failures), "
                      "and every failure cut the step fourfold: give a Krylov solver a looser krylov_tolerance, "
                      "more krylov_max_iterations or a preconditioner, or use linear_solver='sparse' or 'dense'",
                      RuntimeWarning, stacklevel=4)


def _chunk_jobs(kernel, batch, chunks, todo, results):
    """``(index, runs, kernel arguments)`` of each chunk to compute, made when asked for."""
    for index in todo:
        start, stop = chunks[index]
        in_place = None if results is None else tuple(array[start:stop] for array in results)
        yield index, stop - start, chunk_arguments(kernel, batch, start, stop, in_place)


def _run_here(kernel, batch, chunks, todo, store, results, bar, finished) -> None:
    """Run chunks ``todo`` on this machine; each finished chunk's index is appended to ``finished``."""
    runs_last = kernel.child("body").runs_last
    jobs = _chunk_jobs(kernel, batch, chunks, todo, results)
    for index, outputs in kernel.run_chunks(jobs, SCHEMA.output_positions):
        start, stop = chunks[index]
        produced = run_major(kernel, batch, outputs)
        if store is not None:
            store.write_chunk(index, SCHEMA.field_values(batch.shape, produced))
        elif runs_last:  # not written in place
            for target, values in zip(results, produced):
                target[start:stop] = values
        finished.append(index)
        bar.update(stop - start)


def _interrupted(solve: Solve, results, finished_chunks: int, todo_chunks: int, wall_time) -> SolveInterrupted:
    """What a Ctrl-C during a solve leaves: the finished runs, and a message saying what was lost."""
    if results is None:
        return SolveInterrupted(
            f"batchode: interrupted after {finished_chunks} of the {todo_chunks} chunks this solve had to "
            f"compute; they are in {solve.output!s} and the same solve (same arguments) resumes the others")
    status = SCHEMA.output(results, "status")
    not_run = status == int(Status.NOT_RUN)
    SCHEMA.blank(results, not_run)
    result = assemble_result(solve.system, solve.kernel, solve.batch, results, wall_time)
    return SolveInterrupted(
        f"batchode: interrupted; {int((~not_run).sum())} of {len(status)} runs finished and are in this "
        f"exception's .result, the other {int(not_run.sum())} have status NOT_RUN and NaN outputs", result)


__all__ = ["Solve", "solve_batch"]
