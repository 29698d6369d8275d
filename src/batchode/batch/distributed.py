"""Sweeps on a Dask cluster: ``Solver.solve(..., client=client)``.

The client validates the sweep and splits it into the chunks of runs the
single-machine path uses (:mod:`batchode.batch.chunking`). Each chunk is
one Dask task that carries the system definition and the solver settings,
never compiled code; a worker builds the solver on its first chunk, keeps
it, and reuses the compiled kernel for every later chunk (numba's caches are
per process). A worker's CPU backend uses the threads Dask gave the worker;
on GPU clusters (dask-cuda's ``LocalCUDACluster``: one GPU per worker) the
CUDA backend finds the worker's GPU.

Fault tolerance comes from Dask: a task whose worker dies is run again
elsewhere, and a task that raises is retried (``RETRIES``). Trajectories
that fail numerically do not raise (their status codes are the result), so
they are never retried. With ``output=`` the workers write their chunks
straight into the Zarr store (each chunk to its own region, its completion
flag last), so nothing passes through the client, and a restarted sweep
computes only the chunks the store lacks.

Needs the extra ``distributed`` (``dask[distributed]``).
"""

from __future__ import annotations

import threading

import attrs

from batchode.batch.body import SCHEMA
from batchode.batch.launch import run_chunk

#: Times Dask retries a chunk whose task raised (a lost worker does not count).
RETRIES = 2
#: Chunks per worker thread when the user sets no chunk size: several, so
#: that a lost worker costs little and the progress bar moves.
CHUNKS_PER_THREAD = 4

_SOLVERS: dict = {}
_LOCK = threading.Lock()
_COMPILATIONS = [0]


@attrs.frozen
class SolverSpec:
    """What a worker needs to rebuild a solver: its class, the system and the user's settings.

    ``solver_type`` is :class:`batchode.Solver` (or a subclass), pickled by
    reference: the solver hands it over, since this layer does not import
    the one above it. A worker calls ``solver_type(system, **settings)``
    and asks the solver for its kernel (``kernel_for``). ``key``
    identifies the configuration: workers keep one solver per key.
    """

    solver_type: type
    system: object
    settings: dict
    key: str


def check_client(client) -> None:
    """Refuse anything but a ``dask.distributed.Client`` as ``client=``.

    Raises
    ------
    ImportError
        When Dask's ``distributed`` is not installed.
    TypeError
        Naming what was given instead (an address string must first be
        connected to: ``Client("host:port")``).
    """
    try:
        from distributed import Client
    except ImportError:
        raise ImportError("client= needs Dask: pip install 'batchode[distributed]'") from None
    if isinstance(client, Client):
        return
    hint = (f"; connect to the scheduler first: client=dask.distributed.Client({client!r})"
            if isinstance(client, str) else "")
    raise TypeError(f"client must be a dask.distributed.Client, got {client!r} ({type(client).__name__}){hint}")


def distributed_chunk_runs(n_runs: int, client) -> int:
    """Runs per chunk giving each worker thread about ``CHUNKS_PER_THREAD`` chunks (see :func:`check_client`)."""
    check_client(client)
    threads = max(sum(client.nthreads().values()), 1)
    return max(1, -(-n_runs // (threads * CHUNKS_PER_THREAD)))


def worker_compilations() -> int:
    """Solvers this process has compiled for cluster tasks (run on a worker with ``client.run``)."""
    return _COMPILATIONS[0]


def _worker_solver(spec: SolverSpec):
    with _LOCK:
        solver = _SOLVERS.get(spec.key)
        if solver is None:
            solver = spec.solver_type(spec.system, **spec.settings)
            _SOLVERS[spec.key] = solver
            _COMPILATIONS[0] += 1
    return solver


def _use_worker_threads() -> None:
    """Let the CPU backend use the threads Dask gave this worker, no more."""
    import numba

    try:
        from distributed import get_worker

        threads = get_worker().state.nthreads
    except (ImportError, ValueError):  # not inside a worker task
        return
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))


def run_chunk_task(spec: SolverSpec, index: int, batch, store_path):
    """A cluster task: integrate one chunk; write it to the store, or return its outputs.

    ``batch`` holds only this chunk's runs.
    """
    from batchode.batch.store import ResultStore

    kernel = _worker_solver(spec).kernel_for(batch)
    _use_worker_threads()
    # The compile lock: a worker with several threads compiles its kernel once.
    with _LOCK:
        kernel.built  # noqa: B018 - builds (compiles) on first access
    produced = run_chunk(kernel, batch, 0, batch.shape.n_runs)
    if store_path is None:
        return index, produced
    ResultStore.open(store_path, mode="r+").write_chunk(index, SCHEMA.field_values(batch.shape, produced))
    return index, None


def solve_chunks_on_cluster(spec: SolverSpec, batch, chunks, todo, client, store, results, bar) -> None:
    """Run chunks ``todo`` of ``batch`` on ``client``'s cluster, each worker with the solver ``spec`` describes.

    Outputs go to ``store`` (by the workers) or, gathered, into the
    run-major ``results`` arrays. Blocks until every chunk is done; raises
    the first task error that survived Dask's retries; refuses a ``client``
    that is not a Dask client (:func:`check_client`).
    """
    check_client(client)
    from distributed import as_completed

    # hash=False: a fresh key per solve, so a second solve never races the
    # release of the first one's copy of an equal spec.
    [spec_future] = client.scatter([spec], broadcast=True, hash=False)
    store_path = None if store is None else store.path
    futures = []
    for index in todo:
        start, stop = chunks[index]
        futures.append(client.submit(run_chunk_task, spec_future, index, batch.runs(start, stop), store_path,
                                     pure=False, retries=RETRIES, key=f"batchode-chunk-{spec.key[:16]}-{index}"))
    for future in as_completed(futures):
        index, produced = future.result()
        start, stop = chunks[index]
        if produced is not None:
            for target, values in zip(results, produced):
                target[start:stop] = values
        bar.update(stop - start)
