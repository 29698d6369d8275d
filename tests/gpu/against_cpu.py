"""One batch solved on the GPU and on the CPU backend, and the two compared to rounding.

The two backends compile the same device code in float64, yet round
differently in the last bits: NVVM contracts ``a * b + c`` into fused
multiply-adds (LLVM on the CPU does not, without fastmath), and libdevice's
``exp``, ``sin`` and ``pow`` are not the CPU's libm. Those differences pass
through the trajectory, the error estimate and the step-size controller; on
the short, non-chaotic spans of these tests they stay near 1e-13 relative,
and the accept/reject decisions, the step counts and the Newton iterations
come out the same. ``RTOL`` = 1e-9 leaves four orders of magnitude for
rounding, yet sits ten times below the integration tolerance of 1e-8, the
least that a wrong coefficient, a lost or extra step or a stale buffer
would show.
"""

from __future__ import annotations

import numpy as np

import batchode

#: Relative and absolute tolerance of GPU results against the CPU backend's (see the module docstring).
RTOL, ATOL = 1e-9, 1e-12
#: Integration tolerances of every comparison.
SETTINGS = dict(rtol=1e-8, atol=1e-8, precision="float64")
#: Step and iteration counters that must agree exactly.
COUNTERS = ("status", "n_accepted", "n_rejected", "n_newton_iterations", "n_linear_iterations")


def solve_on_both(system, t_span, settings: dict, **batch) -> tuple:
    """``(gpu, cpu)``: the batch solved by a CUDA and by a CPU ``Solver`` with the same settings."""
    return tuple(batchode.Solver(system, backend=backend, **SETTINGS, **settings).solve(t_span, progress=False, **batch)
                 for backend in ("cuda", "cpu"))


def assert_same(result, reference, rtol: float = RTOL, atol: float = ATOL) -> None:
    """Equal counters and statuses; saves, end states and summaries equal to ``rtol``/``atol`` (NaN where NaN)."""
    for name in COUNTERS:
        np.testing.assert_array_equal(getattr(result, name), getattr(reference, name), err_msg=name)
    for name in ("y", "t_final", "y_final"):
        np.testing.assert_allclose(getattr(result, name), getattr(reference, name), rtol=rtol, atol=atol,
                                   err_msg=name)
    for name, values in reference.summaries.items():
        np.testing.assert_allclose(result.summaries[name], values, rtol=rtol, atol=atol, err_msg=name)
