"""Shared test configuration.

Tests marked ``cudasim`` need ``NUMBA_ENABLE_CUDASIM=1`` set before
``numba.cuda`` is imported, so they run in their own pytest process (see
``scripts/run_tests.sh``); in a normal process they are skipped, and in the
simulator process everything else is. Tests marked ``gpu`` need a real GPU
(``scripts/gpu_check.sh`` runs them); anywhere else they are skipped.
"""

from __future__ import annotations

import functools
import os

import numpy as np
import pytest
from julia_reference import JuliaReference

SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"


@functools.cache
def no_gpu_reason() -> str | None:
    """Why the ``gpu`` tests cannot run in this process, or None when a real GPU is usable."""
    if SIMULATOR:
        return "needs a real GPU: the CUDA simulator is on (NUMBA_ENABLE_CUDASIM=1)"
    from numba import cuda

    if not cuda.is_available():
        return "needs a real GPU: numba.cuda.is_available() is false here"
    return None


def pytest_collection_modifyitems(config, items):
    for item in items:
        is_sim = "cudasim" in item.keywords
        if item.get_closest_marker("gpu") and no_gpu_reason():
            item.add_marker(pytest.mark.skip(reason=no_gpu_reason()))
        elif is_sim and not SIMULATOR:
            item.add_marker(pytest.mark.skip(reason="CUDA simulator tests run in their own process (NUMBA_ENABLE_CUDASIM=1)"))
        elif SIMULATOR and not is_sim:
            item.add_marker(pytest.mark.skip(reason="only cudasim tests run in the simulator process"))


@pytest.fixture(scope="session")
def julia():
    return JuliaReference()


# -- output tests (tests/outputs): each configuration compiles once per worker ----
#: Every summary metric that works on states and observables alike.
VALUE_METRICS = ("mean", "min", "max", "rms", "std", "max_magnitude", "extrema", "peaks[3]",
                 "negative_peaks[3]")


@pytest.fixture(scope="session")
def lorenz_radius():
    """Lorenz with one observable, the squared distance from the origin."""
    import batchode

    return batchode.ODESystem.from_equations(
        """
        dx = sigma * (y - x)
        dy = x * (rho - z) - y
        dz = x * y - beta * z
        radius2 = x**2 + y**2 + z**2
        """,
        parameters={"sigma": 10.0, "rho": 28.0, "beta": 8.0 / 3.0},
        initial_state={"x": 1.0, "y": 0.0, "z": 0.0},
    )


@pytest.fixture(scope="session")
def value_solver(lorenz_radius):
    """Every value metric over two states and the observable, time series saved."""
    import batchode

    return batchode.Solver(lorenz_radius, method="tsit5", rtol=1e-8, atol=1e-8, backend="cpu",
                           summaries=VALUE_METRICS, summarise_variables=["x", "z", "radius2"])


@pytest.fixture(scope="session")
def value_run(value_solver):
    """Lorenz over t in [0, 2] for six rho, saved every 0.01, four summary windows."""
    return value_solver.solve((0.0, 2.0), parameters={"rho": np.linspace(2.0, 28.0, 6)}, save_every=0.01,
                              summarise_every=0.5)


@pytest.fixture(scope="session")
def robertson_reference():
    """Robertson at t = 1e5 for k1 in (0.04, 0.03, 0.05) from scipy's Radau at rtol 1e-10, atol 1e-12."""
    from scipy.integrate import solve_ivp

    k1 = np.array([0.04, 0.03, 0.05])
    reference = []
    for rate in k1:
        def rhs(t, y, rate=rate):
            return [-rate * y[0] + 1e4 * y[1] * y[2], rate * y[0] - 1e4 * y[1] * y[2] - 3e7 * y[1] ** 2,
                    3e7 * y[1] ** 2]
        solution = solve_ivp(rhs, (0.0, 1e5), [1.0, 0.0, 0.0], method="Radau", rtol=1e-10, atol=1e-12)
        reference.append(solution.y[:, -1])
    return k1, np.array(reference)
