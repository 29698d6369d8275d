"""One chunk of a batch on the kernel: its argument tuple, its launch, its outputs run-major.

Everything about the tuple's layout comes from the kernel's I/O schema
(:data:`batchode.batch.body.SCHEMA`).
"""

from __future__ import annotations

import attrs

from batchode.batch.body import SCHEMA


@attrs.frozen
class KernelArguments:
    """A whole batch's kernel argument tuple, the batch, and the kernel that runs it (benchmarks, PTX checks)."""

    args: tuple
    batch: object
    kernel: object


def chunk_arguments(kernel, batch, start: int, stop: int, outputs=None) -> tuple:
    """The batch kernel's arguments for runs ``start .. stop-1`` of ``batch``.

    Parameters
    ----------
    kernel : BatchKernel
        The kernel that will run them (its run-time values are an argument).
    batch : PreparedBatch
    start, stop : int
    outputs : tuple of ndarray, optional
        Run-major output arrays of exactly those runs, written in place when
        the backend's layout is run-major (CPU); otherwise fresh arrays in
        the backend's layout are made.
    """
    runs_last = kernel.child("body").runs_last
    if outputs is None or runs_last:
        outputs = batch.shape.allocate_outputs(stop - start, runs_last)
    inputs = dict(t0=batch.t0, t_end=batch.t1, dt0=batch.dt, initial_states=batch.initial,
                  parameters=batch.parameters, save_times=batch.times, samples_per_window=batch.per_window,
                  runtime_values=kernel.runtime_vector())
    return SCHEMA.argument_tuple(batch.shape, inputs, outputs, slice(start, stop))


def outputs_of(arguments: tuple) -> tuple:
    """The output arrays in a kernel argument tuple."""
    return tuple(arguments[position] for position in SCHEMA.output_positions)


def run_major(kernel, batch, outputs) -> tuple:
    """A chunk's output arrays with the run axis first (views; nothing moves on the CPU)."""
    return SCHEMA.run_major(batch.shape, outputs, kernel.child("body").runs_last)


def run_chunk(kernel, batch, start: int, stop: int) -> tuple:
    """Launch ``kernel`` on runs ``start .. stop-1`` of ``batch``; return their outputs run-major."""
    arguments = chunk_arguments(kernel, batch, start, stop)
    copy_back = {"copy_back": SCHEMA.output_positions} if kernel.backend.name == "cuda" else {}
    kernel.launch(stop - start, arguments, **copy_back)
    return run_major(kernel, batch, outputs_of(arguments))
