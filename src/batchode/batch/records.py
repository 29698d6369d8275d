"""What a solved batch is recorded as: its metadata, its fingerprint, its result and its store.

A result in memory and a result read back from a store are made by the same
:func:`~batchode.batch.results.make_result` from the same metadata (the
store keeps it as attributes) and the same fields (named by the kernel's
I/O schema, :data:`batchode.batch.body.SCHEMA`).
"""

from __future__ import annotations

import hashlib

import numpy as np

from batchode.batch.body import SCHEMA
from batchode.batch.results import SolveResult, make_result
from batchode.batch.store import ResultStore


def _loop(kernel):
    return kernel.child("body").child("loop")


def batch_metadata(system, kernel, batch) -> dict:
    """The JSON-compatible description of ``batch`` solved by ``kernel``: names, method, summaries, grid."""
    loop = _loop(kernel)
    summaries = loop.child("summaries")
    return dict(
        state_names=list(system.state_names),
        observable_names=list(system.observable_names if batch.shape.n_observables else ()),
        parameter_names=list(system.parameter_names),
        event_names=[event.name for event in loop.events],
        method=loop.child("algorithm").tableau.name, backend=kernel.backend.name, precision=kernel.precision.name,
        summary_layout=[[name, list(components), offset] for name, components, offset in summaries.layout],
        summary_variables=list(summaries.variables),
        summary_times=[float(t) for t in batch.window_ends] if summaries.is_active else [],
        grid=batch.grid.to_json(),
    )


def fingerprint(configuration_key: str, batch, chunks) -> str:
    """Hash of everything that decides a sweep's results: system and settings, inputs, chunks.

    ``configuration_key`` stands for the system and the solver's settings.
    """
    digest = hashlib.sha256(configuration_key.encode())
    digest.update(repr((batch.t0, batch.t1, batch.dt, batch.per_window, list(map(list, chunks)),
                        batch.grid.to_json())).encode())
    for array in (batch.times, batch.initial, batch.parameters):
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def open_store(system, kernel, batch, chunks, output, overwrite: bool, configuration_key: str) -> ResultStore:
    """The store at ``output`` for this sweep: resumed when it holds it, else created with one array per field."""
    return ResultStore.create_or_resume(
        output, fingerprint=fingerprint(configuration_key, batch, chunks), overwrite=overwrite, chunks=chunks,
        times=batch.saved_times, initial_state=batch.initial, parameters=batch.parameters,
        outputs=SCHEMA.field_layout(batch.shape), metadata=batch_metadata(system, kernel, batch),
    )


def assemble_result(system, kernel, batch, outputs, wall_time: float) -> SolveResult:
    """The result of ``batch`` from its run-major kernel outputs (in schema order)."""
    return make_result(batch_metadata(system, kernel, batch), SCHEMA.field_values(batch.shape, outputs),
                       t=batch.saved_times, initial_state=batch.initial, parameters=batch.parameters,
                       wall_time=wall_time)
