"""A sweep cut into chunks on a real GPU, streamed or one chunk at a time, equals one launch bit for bit."""

import numpy as np
import pytest
from against_cpu import COUNTERS, SETTINGS

import batchode
from batchode.systems.examples import lorenz

pytestmark = pytest.mark.gpu


def test_chunked_and_streamed_runs_equal_one_launch():
    solver = batchode.Solver(lorenz(), method="tsit5", backend="cuda", **SETTINGS)
    batch = dict(parameters={"rho": np.linspace(0.0, 28.0, 3000)}, save_every=0.05, progress=False)
    whole = solver.solve((0.0, 1.0), **batch)
    assert whole.chunks_computed == 1 and whole.success.all()
    streamed = solver.solve((0.0, 1.0), chunk_runs=700, **batch)  # 4 x 700 + 200, two chunks in flight
    backend = solver.kernel.backend
    depth = backend.chunks_in_flight
    backend.chunks_in_flight = 1
    try:
        sequential = solver.solve((0.0, 1.0), chunk_runs=700, **batch)
    finally:
        backend.chunks_in_flight = depth
    for chunked in (streamed, sequential):
        assert chunked.chunks_computed == 5
        for name in ("y", "y_final", "t_final", *COUNTERS):
            np.testing.assert_array_equal(getattr(chunked, name), getattr(whole, name), err_msg=name)
