"""RADAU5's step size machinery: the Newton-scaled safety factor and the refined error estimate.

Hairer & Wanner, Solving ODEs II, section IV.8 and their code RADAU5 (its
step size selection and ESTRAD). The compiled device functions are called
from Python through the CPU backend; the refinement is checked on
``y' = -y``, where one simplified Newton iteration with the exact Jacobian
solves the linear stage equations exactly, so both estimates have closed
forms in terms of each other.
"""

import numpy as np
import pytest

import batchode
from batchode.algorithms import get_tableau, make_step
from batchode.algorithms.tableaus import filtered_error_estimate
from batchode.backends import resolve_backend
from batchode.control.gustafsson import newton_safety
from batchode.counters import N_COUNTERS, Counter
from batchode.systems.device import SystemFactory
from batchode.systems.examples import exponential_decay


@pytest.mark.parametrize("safety", [0.9, 0.5])
def test_newton_safety_follows_radau5s_formula(safety):
    fac = newton_safety(resolve_backend("cpu"), np.dtype(np.float64))
    cap = 7
    for iterations in range(cap + 1):
        expected = min(safety, safety * (1 + 2 * cap) / (iterations + 2 * cap))
        assert fac(safety, iterations, cap) == pytest.approx(expected, rel=1e-15)
    # One iteration (or none) keeps the safety factor; the cap costs about a third of it.
    assert fac(safety, 1, cap) == safety
    assert fac(safety, cap, cap) == pytest.approx(safety * 15 / 21)
    # A step without a capped Newton iteration of its own keeps the safety factor.
    assert fac(safety, 3, 0) == safety


class CompiledRadau:
    """radau-iia-5 on y' = -y, float64 on the CPU, called from Python with its own persistent memory."""

    def __init__(self):
        system = SystemFactory(exponential_decay(), precision=np.float64, backend="cpu")
        self.factory = make_step("radau-iia-5", system, compute_error=True, linear_solver="dense",
                                 tolerances=dict(rtol=0.0, atol=1.0))
        self.function = self.factory.device_function
        registry = self.factory.buffer_registry
        self.shared = np.zeros(max(registry.shared_memory_elements, 1))
        self.persistent = np.zeros(max(registry.persistent_local_elements, 1))

    def __call__(self, dt, fsal_valid, atol):
        """``(error estimate, its filter solves)`` of a step of size ``dt`` from y = 1 with absolute tolerance ``atol``.

        Each Newton iteration makes one linear solve; the rest are the estimate's.
        """
        self.factory.update(atol=atol)
        y_new, error, counters = np.empty(1), np.empty(1), np.zeros(N_COUNTERS, np.int32)
        status = self.function(0.0, dt, np.array([1.0]), np.array([1.0]), y_new, error, fsal_valid, 1, counters,
                               self.factory.runtime_vector(), self.shared, self.persistent)
        assert status == 0
        return error[0], counters[Counter.LINEAR_ITERATIONS] - counters[Counter.NEWTON_ITERATIONS]


@pytest.fixture(scope="module")
def radau():
    return CompiledRadau()


def test_estimate_is_refined_only_when_too_large_on_a_first_or_retried_step(radau):
    dt = 0.1
    first, solves = radau(dt, fsal_valid=False, atol=1.0)  # |error| << atol: no refinement
    assert 0 < abs(first) < 1e-3 and solves == 1
    # After an accepted step, or when the first estimate passes, the estimate is not refined.
    assert radau(dt, fsal_valid=True, atol=1e-12) == (pytest.approx(first, rel=1e-12), solves)
    # A first or retried step whose estimate fails is refined once, with one more solve:
    # f(y + err) = f(y) - err, so err' = err + (gamma - dt lambda)^-1 dt lambda err = err gamma / (gamma + dt).
    gamma = 1.0 / radau.factory.error_estimate.gamma0
    refined, refined_solves = radau(dt, fsal_valid=False, atol=1e-12)
    assert refined == pytest.approx(first * gamma / (gamma + dt), rel=1e-10)
    assert refined_solves == solves + 1


def test_radau5_tolerances_for_the_estimate():
    estimate = filtered_error_estimate(get_tableau("radau-iia-5"))
    # RADAU5's map 0.1 rtol^(2/3) where it tightens (above rtol = 1e-3), the tolerance as given below.
    rtol, atol = estimate.estimate_tolerances((1e-2, 1e-3, 1e-6, 0.0), (1e-4, 1e-3, 1e-9, 1e-2))
    tightened = 0.1 * 1e-2 ** (2 / 3)  # 4.6e-3
    np.testing.assert_allclose(rtol, [tightened, 1e-3, 1e-6, 0.0], rtol=1e-12)
    # atol keeps its ratio to rtol; with rtol 0, atol itself goes through the map.
    np.testing.assert_allclose(atol, [tightened * 1e-2, 1e-3, 1e-9, tightened], rtol=1e-12)
    assert estimate.controller == "gustafsson"


def test_radau_solver_weighs_its_estimate_against_radau5_tolerances():
    solver = batchode.Solver(exponential_decay(), method="radau-iia-5", rtol=1e-2, atol=1e-4, backend="cpu")
    tightened = 0.1 * 1e-2 ** (2 / 3)
    loop = solver.loop
    for factory in (loop.child("controller"), loop.child("algorithm")):  # the norm's owner and Newton's
        values = factory.runtime_values()
        np.testing.assert_allclose(values["rtol"], tightened, rtol=1e-12)
        np.testing.assert_allclose(values["atol"], tightened * 1e-2, rtol=1e-12)
    assert type(loop.child("controller")).__name__ == "GustafssonController"
    # A run-time change of the tolerances goes through the same map.
    solver.update(rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(solver.loop.child("controller").runtime_values()["rtol"], 1e-9, rtol=1e-12)
