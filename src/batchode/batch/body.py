"""``TrajectoryBody``, the kernel body that runs the loop on trajectory ``i``, and its I/O schema.

The schema (:data:`SCHEMA`) is the one description of what the batch
kernel takes and returns: every argument's name, position, dtype and
per-run shape (a function of the batch's
:class:`~batchode.batch.chunking.BatchShape`), and the result fields read
from the outputs. The argument tuple, output allocation, chunk slicing,
run-major conversion, the store layout and the result's fields are all
derived from it; nobody else counts arguments.

Output layouts are chosen for the backend: on the GPU the run index is the
fastest-varying axis, so neighbouring threads write neighbouring addresses
(coalesced); on the CPU each run's outputs are contiguous (cache friendly).
"""

from __future__ import annotations

import math
from typing import Callable

import attrs
import numpy as np

from batchode.counters import N_COUNTERS, Counter
from batchode.factory import CUDAFactory
from batchode.status import Status

#: ``dtype`` of an argument held in the working precision (float32 or float64).
WORKING = "working"
#: Kinds of argument: one value for every run, an array shared by every run,
#: a per-run input (run axis first), a per-run output.
KINDS = ("scalar", "shared", "input", "output")


def _no_dims(shape) -> tuple:
    return ()


def _always(shape) -> bool:
    return True


@attrs.frozen
class KernelArgument:
    """One argument of the batch kernel.

    Attributes
    ----------
    name : str
    kind : {"scalar", "shared", "input", "output"}
        See :data:`KINDS`. Scalars and shared arrays have no run axis.
    dtype : str
        A numpy dtype name, or :data:`WORKING`.
    dims : callable
        ``dims(shape)``: the per-run shape (inputs and outputs) given the
        batch's :class:`~batchode.batch.chunking.BatchShape`.
    fill : float or None
        The value an output starts with (None: uninitialised, as the kernel
        writes every element).
    """

    name: str
    kind: str = attrs.field(validator=attrs.validators.in_(KINDS))
    dtype: str
    dims: Callable = _no_dims
    fill: float | None = None

    def numpy_dtype(self, shape) -> np.dtype:
        """The dtype in a batch of ``shape`` (whose ``precision`` is the working precision)."""
        return shape.precision if self.dtype == WORKING else np.dtype(self.dtype)

    def runs_last(self, shape, backend_runs_last: bool) -> bool:
        """Whether this argument's run axis is its last (outputs with per-run dims, on CUDA)."""
        return backend_runs_last and self.kind == "output" and bool(self.dims(shape))


@attrs.frozen
class ResultField:
    """A field of the result (and an array of the store), read from one kernel output.

    Attributes
    ----------
    name : str
        The :class:`~batchode.batch.results.SolveResult` attribute and the store's array.
    source : str
        The kernel output it is read from.
    select : callable
        ``select(shape)``: the index into a run's output (after the run
        axis) that gives the field, e.g. one counter.
    present : callable
        ``present(shape)``: whether the batch has this field at all.
    """

    name: str
    source: str
    select: Callable = _no_dims
    present: Callable = _always


def _counter(counter: Counter) -> ResultField:
    return ResultField(counter.field, "counters", lambda shape: (int(counter),))


def _events(shape) -> bool:
    return shape.n_events > 0


def _event_slots(shape) -> int:
    """Events in the kernel's arrays: at least one, so a batch without events still has valid arrays."""
    return max(shape.n_events, 1)


ARGUMENTS = (
    KernelArgument("t0", "scalar", "float64"),
    KernelArgument("t_end", "scalar", "float64"),
    # The first step (0: automatic, adaptive control only).
    KernelArgument("dt0", "scalar", "float64"),
    KernelArgument("initial_states", "input", WORKING, lambda shape: (shape.n_states,)),
    KernelArgument("parameters", "input", WORKING, lambda shape: (shape.n_parameters,)),
    KernelArgument("save_times", "shared", "float64"),
    KernelArgument("samples_per_window", "scalar", "int64"),
    # The tree's run-time values (CUDAFactory.runtime_vector).
    KernelArgument("runtime_values", "shared", "float64"),
    KernelArgument("states", "output", WORKING, lambda shape: (shape.state_rows, shape.n_states)),
    # An unused array still has one column: no backend sees a zero-length axis.
    KernelArgument("observables", "output", WORKING,
                   lambda shape: (shape.state_rows, max(shape.n_observables, 1))),
    KernelArgument("summaries", "output", WORKING, lambda shape: (shape.n_windows, max(shape.summary_width, 1))),
    KernelArgument("counters", "output", "int32", lambda shape: (N_COUNTERS,), fill=0),
    # NOT_RUN until the kernel integrates the run, so an interrupted solve can tell which runs it finished.
    KernelArgument("status", "output", "int32", fill=int(Status.NOT_RUN)),
    KernelArgument("end_state", "output", WORKING, lambda shape: (shape.n_states,)),
    KernelArgument("end_time", "output", "float64"),
    KernelArgument("event_counts", "output", "int32", lambda shape: (_event_slots(shape),), fill=0),
    KernelArgument("event_times", "output", "float64", lambda shape: (_event_slots(shape), shape.event_records)),
    KernelArgument("event_states", "output", WORKING,
                   lambda shape: (_event_slots(shape), shape.event_records, shape.n_states)),
)

FIELDS = (
    ResultField("y", "states"),
    ResultField("observables", "observables", lambda shape: (slice(None), slice(0, shape.n_observables)),
                lambda shape: shape.n_observables > 0),
    ResultField("summaries", "summaries", present=lambda shape: shape.summary_width > 0),
    *(_counter(counter) for counter in Counter),
    ResultField("status", "status"),
    ResultField("t_final", "end_time"),
    ResultField("y_final", "end_state"),
    ResultField("event_counts", "event_counts", present=_events),
    ResultField("event_times", "event_times", present=_events),
    ResultField("event_states", "event_states", present=_events),
)


@attrs.frozen
class KernelSchema:
    """The batch kernel's arguments (:data:`ARGUMENTS`) and the result fields read from them (:data:`FIELDS`)."""

    arguments: tuple[KernelArgument, ...]
    fields: tuple[ResultField, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(argument.name for argument in self.arguments)

    @property
    def outputs(self) -> tuple[KernelArgument, ...]:
        return tuple(argument for argument in self.arguments if argument.kind == "output")

    def position(self, name: str) -> int:
        """Position of argument ``name`` in the kernel's argument tuple."""
        return self.names.index(name)

    @property
    def output_positions(self) -> tuple[int, ...]:
        """Positions of the outputs (copied back after a GPU launch)."""
        return tuple(self.position(argument.name) for argument in self.outputs)

    def bytes_per_run(self, shape, kind: str) -> int:
        """Bytes one run takes in the arrays of ``kind`` (``"input"`` or ``"output"``)."""
        return sum(math.prod(argument.dims(shape)) * argument.numpy_dtype(shape).itemsize
                   for argument in self.arguments if argument.kind == kind)

    def allocate_outputs(self, shape, runs: int, runs_last: bool = False) -> tuple:
        """Output arrays for ``runs`` runs, in argument order, the run axis last where the layout says so."""
        arrays = []
        for argument in self.outputs:
            dims = argument.dims(shape)
            full = (*dims, runs) if argument.runs_last(shape, runs_last) else (runs, *dims)
            dtype = argument.numpy_dtype(shape)
            fill = argument.fill
            arrays.append(np.empty(full, dtype) if fill is None else np.full(full, fill, dtype))
        return tuple(arrays)

    def argument_tuple(self, shape, values: dict, outputs: tuple, runs: slice = slice(None)) -> tuple:
        """The kernel's arguments for ``runs`` of a batch: its inputs, then ``outputs`` (those runs' own).

        ``values`` holds the batch's inputs by name; the per-run ones are cut
        to ``runs``, and each is cast to its dtype.
        """
        inputs = []
        for argument in self.arguments:
            if argument.kind == "output":
                continue
            dtype, value = argument.numpy_dtype(shape), values[argument.name]
            if argument.kind == "scalar":
                inputs.append(dtype.type(value))
            else:
                inputs.append(np.asarray(value)[runs if argument.kind == "input" else slice(None)].astype(dtype))
        return (*inputs, *outputs)

    def run_major(self, shape, outputs, runs_last: bool) -> tuple:
        """Outputs with the run axis first (views; nothing moves on a run-major backend)."""
        return tuple(np.moveaxis(values, -1, 0) if argument.runs_last(shape, runs_last) else values
                     for argument, values in zip(self.outputs, outputs))

    def output(self, outputs, name: str):
        """The array of output ``name`` among ``outputs`` (in schema order)."""
        return outputs[[argument.name for argument in self.outputs].index(name)]

    def present_fields(self, shape) -> tuple[ResultField, ...]:
        return tuple(field for field in self.fields if field.present(shape))

    def field_values(self, shape, outputs) -> dict:
        """The batch's result fields by name, from run-major ``outputs`` (views where possible)."""
        by_name = dict(zip((argument.name for argument in self.outputs), outputs))
        return {field.name: by_name[field.source][(slice(None), *field.select(shape))]
                for field in self.present_fields(shape)}

    def field_layout(self, shape) -> dict:
        """``name -> (per-run shape, dtype)`` of the batch's result fields (a store's arrays)."""
        layout = {}
        for field in self.present_fields(shape):
            argument = self.arguments[self.position(field.source)]
            # A zero-stride view: the selected shape without allocating the array.
            dims = np.broadcast_to(np.int8(0), argument.dims(shape))[field.select(shape)].shape
            layout[field.name] = (dims, argument.numpy_dtype(shape))
        return layout

    def blank(self, outputs, rows) -> None:
        """Mark run-major ``outputs`` of ``rows`` as never integrated: NaN floats, zero counts; status untouched."""
        for argument, values in zip(self.outputs, outputs):
            if argument.name != "status":
                values[rows] = np.nan if np.issubdtype(values.dtype, np.floating) else 0


#: The batch kernel's I/O.
SCHEMA = KernelSchema(ARGUMENTS, FIELDS)


class TrajectoryBody(CUDAFactory):
    """``body(i, shared, persistent, args)`` with ``args`` laid out as :data:`SCHEMA`.

    Each run gets its row of every input and output (its column on CUDA,
    where outputs have the run axis last) and one loop call.
    """

    def __init__(self, loop: CUDAFactory, **kwargs):
        super().__init__(precision=loop.precision, backend=loop.backend.name, **kwargs)
        self.add_child("loop", loop)

    @property
    def runs_last(self) -> bool:
        """True when outputs have the run axis last (CUDA)."""
        return self.backend.name == "cuda"

    def build(self):
        loop = self.child("loop").device_function
        view = self.buffer_registry.child_view("loop")
        loop_settings = self.runtime_view("loop")
        at = SCHEMA.position
        t0, t_end, dt0, initial, parameters = at("t0"), at("t_end"), at("dt0"), at("initial_states"), at("parameters")
        times, per_window, values = at("save_times"), at("samples_per_window"), at("runtime_values")
        states, observables, summaries, counters = at("states"), at("observables"), at("summaries"), at("counters")
        status, end_state, end_time = at("status"), at("end_state"), at("end_time")
        event_counts, event_times, event_states = at("event_counts"), at("event_times"), at("event_states")

        if self.runs_last:

            def body(i, shared, persistent, args):
                loop_shared, loop_persistent = view(shared, persistent)
                args[status][i] = loop(args[t0], args[t_end], args[dt0], args[initial][i], args[parameters][i],
                                       args[times], args[per_window], args[states][:, :, i],
                                       args[observables][:, :, i], args[summaries][:, :, i], args[end_state][:, i],
                                       args[end_time][i:i + 1], args[event_counts][:, i],
                                       args[event_times][:, :, i], args[event_states][:, :, :, i],
                                       args[counters][:, i], loop_settings(args[values]), loop_shared,
                                       loop_persistent)

        else:

            def body(i, shared, persistent, args):
                loop_shared, loop_persistent = view(shared, persistent)
                args[status][i] = loop(args[t0], args[t_end], args[dt0], args[initial][i], args[parameters][i],
                                       args[times], args[per_window], args[states][i], args[observables][i],
                                       args[summaries][i], args[end_state][i], args[end_time][i:i + 1],
                                       args[event_counts][i], args[event_times][i], args[event_states][i],
                                       args[counters][i], loop_settings(args[values]), loop_shared,
                                       loop_persistent)

        return self.backend.device_function(body)
