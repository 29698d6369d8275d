"""``TrajectoryBody``: the kernel body that runs the loop on trajectory ``i``.

It owns the batch kernel's argument layout (:data:`KERNEL_ARGUMENTS`): the
names and order of the arrays and scalars every launch passes, which of them
the kernel writes (:data:`OUTPUT_ARGUMENTS`) and where each one sits
(:func:`argument_position`). Nobody else counts arguments.

Output layouts are chosen for the backend: on the GPU the run index is the
fastest-varying axis, so neighbouring threads write neighbouring addresses
(coalesced); on the CPU each run's outputs are contiguous (cache friendly).
"""

from __future__ import annotations

from batchode.factory import CUDAFactory

#: Inputs, in order: start and end time and first step (float64 scalars),
#: initial states (runs, n) and parameters (runs, n_p) in the working
#: precision, save times (float64), samples per summary window (int64) and the
#: tree's run-time values (float64,
#: :meth:`batchode.factory.CUDAFactory.runtime_vector`).
INPUT_ARGUMENTS = ("t0", "t_end", "dt0", "initial_states", "parameters", "save_times", "samples_per_window",
                   "runtime_values")
#: Outputs, in order (see :meth:`batchode.batch.chunking.BatchShape.allocate_outputs`):
#: saved states, observables, summary rows, work counters, status, where
#: each run stopped (its last accepted state and the time it reached), and
#: its events (occurrences counted, and the time and state of each recorded one).
OUTPUT_ARGUMENTS = ("states", "observables", "summaries", "counters", "status", "end_state", "end_time",
                    "event_counts", "event_times", "event_states")
#: Every argument of the batch kernel, in order.
KERNEL_ARGUMENTS = INPUT_ARGUMENTS + OUTPUT_ARGUMENTS


def argument_position(name: str) -> int:
    """Position of argument ``name`` in the batch kernel's argument tuple."""
    return KERNEL_ARGUMENTS.index(name)


#: Positions of the outputs in the kernel's arguments (copied back after a GPU launch).
OUTPUT_POSITIONS = tuple(argument_position(name) for name in OUTPUT_ARGUMENTS)


class TrajectoryBody(CUDAFactory):
    """``body(i, shared, persistent, args)`` with ``args`` laid out as :data:`KERNEL_ARGUMENTS`.

    Shapes: ``initial_states`` (runs, n), ``parameters`` (runs, n_p); on the
    CPU ``states`` (runs, saves, n), ``observables`` (runs, saves, n_obs),
    ``summaries`` (runs, windows, width), ``counters`` (runs, 4),
    ``end_state`` (runs, n), ``event_counts`` (runs, events),
    ``event_times`` (runs, events, records), ``event_states`` (runs,
    events, records, n); on CUDA the run axis is last in those eight.
    ``status`` and ``end_time`` are (runs,).
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
        (t0, t_end, dt0, initial, parameters, times, per_window, values, states, observables, summaries, counters,
         status, end_state, end_time, event_counts, event_times, event_states) = (
            argument_position(name) for name in KERNEL_ARGUMENTS)

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
