"""How much memory a batch needs, and how to split it into chunks that fit.

A chunk is a contiguous range of runs launched as one kernel. Its inputs
and outputs must fit the backend's budget (free device memory on CUDA, a
configurable budget on the CPU); the complete outputs must fit in host
memory unless they are streamed to disk (:mod:`batchode.batch.store`).
On the CPU chunks run one after another; on CUDA two are in flight on
separate streams, so copies overlap compute. Each run's result does not
depend on which chunk it was in, so a chunked solve returns exactly the
arrays of an unchunked one.
"""

from __future__ import annotations

import math
import os
import sys

import attrs
import numpy as np

from batchode.batch.body import SCHEMA

#: Default runs per CPU chunk: large enough that the per-launch overhead
#: (starting numba's thread pool) is negligible, small enough that a
#: chunk's arrays stay a modest part of memory.
CPU_CHUNK_RUNS = 1 << 16
#: Fraction of the free device memory the CUDA chunks in flight may take together.
DEVICE_MEMORY_FRACTION = 0.5
#: Most bytes per CUDA chunk by default: each chunk in flight also pins as
#: much host memory, and 4 GiB still holds over 250,000 runs of 1000 saved
#: times of 4 float32 states, about one full wave of an H100's threads.
DEVICE_CHUNK_BYTES = 4 << 30
#: Chunks a solve is cut into (unless ``progress=False``) so that its
#: progress bar, which moves once per chunk, moves this many times.
PROGRESS_CHUNKS = 20
#: Fewest runs of a chunk cut for the progress bar on the CPU. A chunk
#: costs about 0.3 ms besides its runs (slicing its arguments, the
#: parallel launch; measured on 2 cores), and the cut makes at most
#: ``PROGRESS_CHUNKS`` of them, so it adds a few milliseconds to a solve at
#: most. The floor keeps small sweeps from being cut to dust: every chunk
#: ends with the threads waiting for its slowest run, and 256 runs still
#: give each of 16 threads 16 runs to balance.
CPU_PROGRESS_FLOOR = 256
#: Fewest runs of a chunk cut for the progress bar on CUDA when the device
#: cannot be asked (the simulator); see :func:`progress_floor`.
DEVICE_PROGRESS_FLOOR = 1 << 17


def format_bytes(count: float) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(count) < 1024 or unit == "TiB":
            return f"{count:.3g} {unit}" if unit != "B" else f"{int(count)} B"
        count /= 1024
    raise AssertionError("unreachable")


@attrs.frozen
class BatchShape:
    """Sizes of one batch's kernel arrays (their shapes come from :data:`batchode.batch.body.SCHEMA`).

    Attributes
    ----------
    n_runs, n_states, n_parameters : int
    state_rows : int
        Rows of saved states per run (the save times, or 1 without a time series).
    n_observables : int
        Observables saved per row (0: none are saved).
    n_windows, summary_width : int
        Summary rows per run and values per row (``summary_width`` 0: no
        summaries; ``n_windows`` is at least 1).
    precision : numpy dtype
        The working precision.
    n_events, event_records : int
        Events detected (0: none), and occurrences recorded per event (the
        most any event records, at least 1).
    """

    n_runs: int
    n_states: int
    n_parameters: int
    state_rows: int
    n_observables: int
    n_windows: int
    summary_width: int
    precision: np.dtype = attrs.field(converter=np.dtype)
    n_events: int = 0
    event_records: int = 1

    @property
    def input_bytes_per_run(self) -> int:
        return SCHEMA.bytes_per_run(self, "input")

    @property
    def output_bytes_per_run(self) -> int:
        return SCHEMA.bytes_per_run(self, "output")

    @property
    def bytes_per_run(self) -> int:
        """Inputs and outputs of one run in the kernel's arrays."""
        return self.input_bytes_per_run + self.output_bytes_per_run

    @property
    def output_bytes(self) -> int:
        """Host memory the complete results take."""
        return self.n_runs * self.output_bytes_per_run

    def allocate_outputs(self, runs: int | None = None, runs_last: bool = False) -> tuple:
        """The kernel's output arrays (:meth:`batchode.batch.body.KernelSchema.allocate_outputs`).

        For ``runs`` runs (default: the whole batch), run-major, or with the
        run axis last (the coalesced CUDA layout) when ``runs_last``.
        """
        return SCHEMA.allocate_outputs(self, self.n_runs if runs is None else runs, runs_last)

    def describe(self) -> str:
        return (f"{self.n_runs} runs x {format_bytes(self.bytes_per_run)} per run "
                f"(inputs {format_bytes(self.input_bytes_per_run)}, outputs "
                f"{format_bytes(self.output_bytes_per_run)}: {self.state_rows} saved rows of "
                f"{self.n_states} states + {self.n_observables} observables, "
                f"{self.n_windows} summary rows of {self.summary_width}); results "
                f"{format_bytes(self.output_bytes)} in all")


def available_host_memory() -> int | None:
    """Bytes of host memory available now (Linux ``MemAvailable``), or None if unknown."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def free_device_memory() -> int | None:
    """Free memory of the current CUDA device in bytes (None in the simulator)."""
    from numba import config, cuda

    if config.ENABLE_CUDASIM:
        return None
    free, _total = cuda.current_context().get_memory_info()
    return int(free)


def resident_threads() -> int | None:
    """Threads the current CUDA device runs at once (SMs x threads per SM), None in the simulator."""
    from numba import config, cuda

    if config.ENABLE_CUDASIM:
        return None
    device = cuda.current_context().device
    return int(device.MULTIPROCESSOR_COUNT * device.MAX_THREADS_PER_MULTIPROCESSOR)


def progress_floor(backend: str) -> int:
    """Fewest runs of a chunk cut so that the progress bar moves (see :func:`plan_chunks`).

    CPU: :data:`CPU_PROGRESS_FLOOR`. CUDA: every thread the device runs at
    once, since a launch lasts as long as its slowest trajectory whatever
    its size: a chunk that leaves SMs idle would stretch the solve, not
    just report it more often.
    """
    if backend == "cpu":
        return CPU_PROGRESS_FLOOR
    return resident_threads() or DEVICE_PROGRESS_FLOOR


def check_host_memory(shape: BatchShape, streaming: bool, staging_bytes: int = 0) -> None:
    """Refuse, before launch, results that cannot fit in host memory.

    ``staging_bytes`` is host memory the chunks in flight hold besides the
    results (CUDA's pinned copy buffers).

    Raises
    ------
    MemoryError
        With the bytes needed and available. When ``streaming`` (results go
        to disk chunk by chunk) only the staging must fit.
    """
    needed = staging_bytes + (0 if streaming else shape.output_bytes)
    available = available_host_memory()
    if available is None or needed <= available:
        return
    if streaming:
        raise MemoryError(f"the chunks in flight need {format_bytes(staging_bytes)} of host memory but "
                          f"{format_bytes(available)} is available; pass a smaller chunk_memory or chunk_runs")
    raise MemoryError(
        f"the results need {format_bytes(needed)} of host memory but "
        f"{format_bytes(available)} is available ({shape.describe()}"
        + (f", plus {format_bytes(staging_bytes)} for the chunks in flight" if staging_bytes else "")
        + "); save fewer times (save_every, save_time_series=False, summaries), or pass "
        "output='results.zarr' to write them to disk chunk by chunk"
    )


def plan_chunks(shape: BatchShape, budget_bytes: int | None, max_runs: int | None, progress=None,
                backend: str = "cpu") -> list[tuple[int, int]]:
    """Contiguous run ranges ``[(start, stop), ...]`` whose arrays fit ``budget_bytes``.

    Parameters
    ----------
    shape : BatchShape
    budget_bytes : int or None
        Most bytes of a chunk's arrays (None: no limit).
    max_runs : int or None
        Most runs per chunk (None: no limit).
    progress : bool or None
        The solve's ``progress`` (False when the user chose ``chunk_runs``:
        a chunk size asked for is kept). Unless False, chunks hold at most a
        :data:`PROGRESS_CHUNKS`-th of the runs (but at least
        :func:`progress_floor` runs), so that a progress bar moves at
        least that many times over a large sweep. The plan depends on the
        argument, never on whether stderr is a terminal: a result store
        records its chunks, and resuming it needs the same plan.
    backend : {"cpu", "cuda"}
        Which backend's floor applies.

    Raises
    ------
    MemoryError
        When a single run does not fit the budget.
    """
    per_chunk = shape.n_runs
    if budget_bytes is not None:
        fits = budget_bytes // shape.bytes_per_run
        if fits < 1:
            raise MemoryError(f"one run needs {format_bytes(shape.bytes_per_run)} but the chunk budget is "
                              f"{format_bytes(budget_bytes)}; raise chunk_memory or save less")
        per_chunk = min(per_chunk, fits)
    if max_runs is not None:
        per_chunk = min(per_chunk, max_runs)
    if progress is not False:
        per_chunk = min(per_chunk, max(-(-shape.n_runs // PROGRESS_CHUNKS), progress_floor(backend)))
    per_chunk = max(per_chunk, 1)
    count = math.ceil(shape.n_runs / per_chunk)
    return [(c * per_chunk, min((c + 1) * per_chunk, shape.n_runs)) for c in range(count)]


def chunk_budget(backend, chunk_memory=None) -> int | None:
    """Most bytes of one chunk's arrays: ``chunk_memory`` checked, or the backend's default.

    CUDA's default shares :data:`DEVICE_MEMORY_FRACTION` of the free device
    memory among the chunks in flight, at most :data:`DEVICE_CHUNK_BYTES`
    each; the CPU (and the simulator, which cannot ask) has no limit.
    """
    if chunk_memory is not None:
        if not (isinstance(chunk_memory, (int, np.integer)) and chunk_memory > 0):
            raise ValueError(f"chunk_memory must be a positive number of bytes, got {chunk_memory!r}")
        return int(chunk_memory)
    if backend.name != "cuda":
        return None
    free = free_device_memory()
    if free is None:
        return None
    return min(int(free * DEVICE_MEMORY_FRACTION) // backend.chunks_in_flight, DEVICE_CHUNK_BYTES)


def chunk_run_limit(backend, chunk_runs=None) -> int | None:
    """Most runs of one chunk: ``chunk_runs`` checked, or :data:`CPU_CHUNK_RUNS` on the CPU (none on CUDA)."""
    if chunk_runs is not None:
        if not (isinstance(chunk_runs, (int, np.integer)) and chunk_runs > 0):
            raise ValueError(f"chunk_runs must be a positive integer, got {chunk_runs!r}")
        return int(chunk_runs)
    return CPU_CHUNK_RUNS if backend.name == "cpu" else None


def staging_bytes(backend, shape: BatchShape, chunks) -> int:
    """Host memory CUDA's pinned copy buffers take: a chunk's arrays per chunk in flight.

    0 on the CPU, which writes straight into the results.
    """
    if backend.name != "cuda":
        return 0
    largest = max(stop - start for start, stop in chunks)
    return backend.chunks_in_flight * largest * shape.bytes_per_run


def plan_batch(shape: BatchShape, backend, chunk_memory=None, chunk_runs=None, progress=None) -> list:
    """The chunks of a solve with the arguments ``chunk_memory``, ``chunk_runs`` and ``progress`` it was given.

    A chunk size the user chose is kept: the progress bar does not cut it.
    """
    return plan_chunks(shape, chunk_budget(backend, chunk_memory), chunk_run_limit(backend, chunk_runs),
                       progress=progress if chunk_runs is None else False, backend=backend.name)


def progress_bar(progress, total: int):
    """A tqdm bar over runs, with runs per second; ``progress=None`` shows it on a terminal after 2 s."""
    from tqdm.auto import tqdm

    if progress is None:
        progress = sys.stderr.isatty()
    return tqdm(total=total, unit="run", unit_scale=True, desc="batchode", disable=not progress, delay=2.0,
                leave=False)


__all__ = ["CPU_CHUNK_RUNS", "CPU_PROGRESS_FLOOR", "DEVICE_CHUNK_BYTES", "DEVICE_MEMORY_FRACTION",
           "DEVICE_PROGRESS_FLOOR", "PROGRESS_CHUNKS", "BatchShape", "available_host_memory", "check_host_memory",
           "chunk_budget", "chunk_run_limit", "format_bytes", "free_device_memory", "plan_batch", "plan_chunks",
           "progress_bar", "progress_floor", "resident_threads", "staging_bytes"]
