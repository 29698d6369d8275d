"""``TrajectoryBody``: the kernel body that runs the loop on trajectory ``i``.

Output layouts are chosen for the backend: on the GPU the run index is the
fastest-varying axis, so neighbouring threads write neighbouring addresses
(coalesced); on the CPU each run's outputs are contiguous (cache friendly).
"""

from __future__ import annotations

from batchode.factory import CUDAFactory


class TrajectoryBody(CUDAFactory):
    """``body(i, shared, persistent, args)`` with ``args`` = ``(t0, dt0, y0, params,
    save_times, samples_per_window, states, observables, summaries, counters, status)``.

    Shapes: ``y0`` (runs, n), ``params`` (runs, n_p); on the CPU ``states``
    (runs, saves, n), ``observables`` (runs, saves, n_obs), ``summaries``
    (runs, windows, width), ``counters`` (runs, 4); on CUDA the run axis is
    last in those four.
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

        if self.runs_last:

            def body(i, shared, persistent, args):
                loop_shared, loop_persistent = view(shared, persistent)
                args[10][i] = loop(args[0], args[1], args[2][i], args[3][i], args[4], args[5],
                                   args[6][:, :, i], args[7][:, :, i], args[8][:, :, i], args[9][:, i],
                                   loop_shared, loop_persistent)

        else:

            def body(i, shared, persistent, args):
                loop_shared, loop_persistent = view(shared, persistent)
                args[10][i] = loop(args[0], args[1], args[2][i], args[3][i], args[4], args[5], args[6][i],
                                   args[7][i], args[8][i], args[9][i], loop_shared, loop_persistent)

        return self.backend.device_function(body)
