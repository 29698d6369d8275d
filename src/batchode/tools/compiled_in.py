"""Kernels with their run-time values compiled in: what reading them at run time costs.

Tolerances, step limits and the controllers' constants reach a kernel as
its run-time values (an argument), so that changing them never recompiles.
Inside :func:`runtime_values_compiled_in` every kernel built instead reads
them from a constant array frozen into its code, which lets the compiler
fold them as it would literals. The two builds of the same configuration
compared (registers with ``ptxas``, time on the CPU) are the cost of the
run-time values (``tests/ptx/test_lorenz_tsit5.py``,
``benchmarks/cpu_lorenz.py``).

Only for measurement: the kernels built inside ignore the values a solve
passes, so the disk cache is off and the in-memory build cache is set aside
while it lasts; no cache keeps a kernel built inside. The solver that built
one keeps it, and may be timed after the ``with`` block (as
``benchmarks/cpu_lorenz.py`` does, alternating it with an ordinary one).
"""

from __future__ import annotations

import collections
import contextlib
import os

from batchode import factory
from batchode.batch.body import TrajectoryBody


def _compiled_in_view(body, child_name: str):
    """``TrajectoryBody.runtime_view`` reading the body's run-time values as they are now, frozen."""
    values = body.runtime_vector()
    region = body.runtime_layout()[child_name]
    start, stop = region.start, region.stop

    def view(settings):
        return values[start:stop]

    return body.backend.device_function(view)


@contextlib.contextmanager
def runtime_values_compiled_in():
    """Build kernels with their run-time values compiled in, while the ``with`` block lasts.

    Yields the list of children whose views were frozen (``["loop"]`` once
    a kernel was built), so a caller can check that what it measured was
    such a kernel.
    """
    frozen = []

    def view(body, child_name):
        frozen.append(child_name)
        return _compiled_in_view(body, child_name)

    saved_view, saved_cache = TrajectoryBody.runtime_view, factory._BUILD_CACHE
    saved_setting = os.environ.get("BATCHODE_CACHE")
    TrajectoryBody.runtime_view = view
    factory._BUILD_CACHE = collections.OrderedDict()
    os.environ["BATCHODE_CACHE"] = "off"
    try:
        yield frozen
    finally:
        TrajectoryBody.runtime_view = saved_view
        factory._BUILD_CACHE = saved_cache
        if saved_setting is None:
            del os.environ["BATCHODE_CACHE"]
        else:
            os.environ["BATCHODE_CACHE"] = saved_setting
