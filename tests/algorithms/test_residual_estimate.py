"""The residual error estimate of classical-rk4 (Shampine 2005, as OrdinaryDiffEq.jl's RK4 forms it).

The estimate is checked three ways: against a NumPy transcription written
from the standard cubic Hermite basis (an arrangement independent of the
engine's generated code), by how it scales with the step on a problem with
an exact solution, and by the accuracy of adaptive runs that it steers. The
Lorenz comparison with Julia's RK4() is in
tests/integration/test_julia_reference.py.
"""

import numpy as np
import pytest

from batchode import Solver
from batchode.algorithms import ERKStep, make_step
from batchode.algorithms.tableaus import ButcherTableau, get_tableau
from batchode.algorithms.tableaus.butcher import ResidualEstimate
from batchode.control import PIController
from batchode.systems.device import SystemFactory
from batchode.systems.examples import harmonic_oscillator, van_der_pol

RK4 = get_tableau("classical-rk4")


class CompiledStep:
    """rk4 with the residual estimate, float64 on the CPU, called from Python one state at a time."""

    def __init__(self, system, rtol, atol):
        self.factory = make_step(RK4, SystemFactory(system, precision=np.float64, backend="cpu"),
                                 compute_error=True, tolerances=dict(rtol=rtol, atol=atol))
        self.function = self.factory.device_function
        registry = self.factory.buffer_registry
        self.shared = np.zeros(max(registry.shared_memory_elements, 1))
        self.persistent = np.zeros(max(registry.persistent_local_elements, 1))

    def __call__(self, t, dt, y, p, fsal_valid=False):
        y_new, error = np.empty_like(y), np.empty_like(y)
        self.function(t, dt, y, np.asarray(p, dtype=np.float64), y_new, error, fsal_valid, 0,
                      np.zeros(4, np.int32), self.factory.runtime_vector(), self.shared, self.persistent)
        return y_new, error


def weighted_rms(vector, y_old, y_new, rtol, atol):
    """The controllers' norm (atol + max(|y_old|, |y_new|) rtol weights), in NumPy."""
    return np.sqrt(np.mean((vector / (atol + np.maximum(np.abs(y_old), np.abs(y_new)) * rtol)) ** 2))


def van_der_pol_rhs(y, mu=1.0):
    return np.array([y[1], mu * (1.0 - y[0] ** 2) * y[1] - y[0]])


def shampine_estimate(f, y, dt, rtol, atol):
    """``(y_new, EEst, node of the larger residual)`` of one RK4 step, as Julia's RK4 computes EEst.

    The interpolant is written in the textbook Hermite basis h00, h10, h01,
    h11 on [0, 1]; its time derivative is the s-derivative over dt.
    """
    k1 = f(y)
    k2 = f(y + dt / 2 * k1)
    k3 = f(y + dt / 2 * k2)
    k4 = f(y + dt * k3)
    y_new = y + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    data = (y, dt * k1, y_new, dt * f(y_new))
    sizes = []
    for s in (0.5 - np.sqrt(3.0) / 6.0, 0.5 + np.sqrt(3.0) / 6.0):
        basis = (2 * s**3 - 3 * s**2 + 1, s**3 - 2 * s**2 + s, -2 * s**3 + 3 * s**2, s**3 - s**2)
        slope = (6 * s**2 - 6 * s, 3 * s**2 - 4 * s + 1, -6 * s**2 + 6 * s, 3 * s**2 - 2 * s)
        u = sum(c * d for c, d in zip(basis, data))
        du_dt = sum(c * d for c, d in zip(slope, data)) / dt
        sizes.append(weighted_rms(dt * (f(u) - du_dt), y, y_new, rtol, atol))
    return y_new, 2.1342 * max(sizes), int(np.argmax(sizes))


@pytest.fixture(scope="module")
def oscillator_step():
    # atol = 1, rtol = 0: unit weights, so the norm is the plain RMS.
    return CompiledStep(harmonic_oscillator(), rtol=0.0, atol=1.0)


# (state, dt): the larger residual is at the second node, then at the first.
VAN_DER_POL_CASES = [((2.0, 0.0), 0.05), ((-1.0, -2.0), 0.2)]


def test_estimate_matches_an_independent_transcription():
    rtol, atol = np.array([1e-3, 1e-5]), 1e-6
    step = CompiledStep(van_der_pol(), rtol=tuple(rtol), atol=atol)
    larger_node = []
    for state, dt in VAN_DER_POL_CASES:
        y = np.array(state)
        expected_state, expected_estimate, node = shampine_estimate(van_der_pol_rhs, y, dt, rtol, atol)
        larger_node.append(node)
        y_new, error = step(0.0, dt, y, [1.0])
        np.testing.assert_allclose(y_new, expected_state, rtol=1e-14, atol=1e-15)
        assert weighted_rms(error, y, y_new, rtol, atol) == pytest.approx(expected_estimate, rel=1e-9)
        # The step leaves f(t + dt, y_new) for the next step's first stage.
        np.testing.assert_allclose(step.persistent[:2], van_der_pol_rhs(y_new), rtol=1e-14)
        reused = step(dt, dt, y_new, [1.0], fsal_valid=True)
        fresh = step(dt, dt, y_new, [1.0], fsal_valid=False)
        np.testing.assert_array_equal(reused[0], fresh[0])
        np.testing.assert_array_equal(reused[1], fresh[1])
    assert larger_node == [1, 0], "the cases must exercise both choices of residual"


def test_estimate_scales_like_dt4_while_the_local_error_scales_like_dt5(oscillator_step):
    """On x'' = -x from the exact state: estimate ~ dt^4, true local error ~ dt^5.

    The cubic Hermite interpolant of exact end data is off by O(dt^4) in
    value but by O(dt^3) in derivative (d/dt of dt^4 s^2 (1 - s)^2 y''''/24),
    so the residual f(u) - u' is O(dt^3) per unit time and the scaled
    residual dt * (f(u) - u') is O(dt^4); RK4's own O(dt^5) error enters only
    at higher order. The estimate is therefore that of a 4(3) pair, which
    is why Julia's PI exponents for RK4 are those of order 4 (0.7/4, 0.4/4).
    Measured: slopes 4.05, 4.01, 4.00 (estimate) and 5.00 (local error), the
    estimate 11x to 82x above the local error over these steps.
    """
    t, dts = 0.7, np.array([0.2, 0.1, 0.05, 0.025])
    y = np.array([np.cos(t), -np.sin(t)])
    estimates, local_errors = [], []
    for dt in dts:
        y_new, error = oscillator_step(t, dt, y, [1.0])
        estimates.append(np.sqrt(np.mean(error**2)))
        local_errors.append(np.sqrt(np.mean((y_new - [np.cos(t + dt), -np.sin(t + dt)]) ** 2)))
    estimate_slopes = np.diff(np.log(estimates)) / np.diff(np.log(dts))
    error_slopes = np.diff(np.log(local_errors)) / np.diff(np.log(dts))
    assert np.all(np.abs(estimate_slopes - 4.0) < 0.1), estimate_slopes
    assert np.all(np.abs(error_slopes - 5.0) < 0.1), error_slopes
    assert np.all(np.array(estimates) > np.array(local_errors))


def test_adaptive_error_tracks_the_tolerance():
    """Default control of classical-rk4 is Julia's PI; its global error follows rtol = atol.

    Measured on x'' = -omega^2 x over 4 time units: about 2e-6 at 1e-6 and
    2e-8 at 1e-8 (the estimate ~ dt^4 and the global error ~ dt^4 make the
    error proportional to the tolerance).
    """
    omega = np.array([0.5, 1.0, 2.0])
    solver = Solver(harmonic_oscillator(), method="classical-rk4", backend="cpu")
    controller = solver.loop.child("controller")
    assert isinstance(controller, PIController)
    assert (controller.settings.beta1, controller.settings.beta2) == (0.175, 0.1)
    exact = np.stack([np.cos(4.0 * omega), -omega * np.sin(4.0 * omega)], axis=1)
    errors = {}
    for tolerance in (1e-6, 1e-8):
        solver.update(rtol=tolerance, atol=tolerance)
        result = solver.solve((0.0, 4.0), parameters={"omega": omega})
        assert result.success.all()
        errors[tolerance] = np.abs(result.final_state - exact).max()
    assert 1e-6 / 30 < errors[1e-6] < 1e-6 * 30, errors
    assert errors[1e-8] < errors[1e-6] / 10, errors


def test_fixed_steps_form_no_estimate():
    system = SystemFactory(harmonic_oscillator(), precision=np.float64, backend="cpu")
    step = make_step(RK4, system, compute_error=False, tolerances=dict(rtol=1e-6, atol=1e-6))
    buffers = step.buffer_registry.buffers
    assert not buffers["residual"].is_enabled() and not buffers["fsal_cache"].is_enabled()
    assert step.settings.rtol is None
    assert step.generated_source().count("dxdt(") == 4
    # Steps without a residual estimate never take the tolerances, so one
    # compiled step serves every tolerance.
    assert make_step("tsit5", system, compute_error=True, tolerances=dict(rtol=1e-6, atol=1e-6)).settings.rtol is None


def test_residual_estimate_needs_the_tolerances():
    system = SystemFactory(harmonic_oscillator(), precision=np.float64, backend="cpu")
    with pytest.raises(ValueError, match="classical-rk4.*residual.*pass rtol and atol"):
        ERKStep(system, tableau=RK4, n_states=2, compute_error=True)
    with pytest.raises(ValueError, match="rtol has 3 entries"):
        ERKStep(system, tableau=RK4, n_states=2, compute_error=True, rtol=(1e-6,) * 3, atol=1e-6)


@pytest.mark.parametrize("fields, message", [
    (dict(nodes=()), "empty"),
    (dict(nodes=(0.0, 0.5)), r"not strictly inside \(0, 1\)"),
    (dict(nodes=(0.5, float("nan"))), r"not strictly inside \(0, 1\)"),
    (dict(nodes=("1/3", "1/3")), "repeat"),
    (dict(scale=0.0), "positive finite"),
    (dict(scale=float("inf")), "positive finite"),
])
def test_invalid_residual_estimate_is_rejected(fields, message):
    with pytest.raises(ValueError, match=message):
        ResidualEstimate(**{"nodes": (0.25, 0.75), "scale": 2.0, "citation": "test", **fields})


ESTIMATE = RK4.residual_estimate


def test_residual_estimate_is_refused_next_to_an_embedded_pair():
    with pytest.raises(ValueError, match="'heun-with-residual'.*embedded pair.*one error estimate"):
        ButcherTableau(name="heun-with-residual", a=[[0, 0], [1, 0]], b=["1/2", "1/2"], c=[0, 1], order=2,
                       b_hat=[1, 0], embedded_order=1, citation="test", residual_estimate=ESTIMATE)


def test_residual_estimate_is_refused_for_an_implicit_tableau():
    with pytest.raises(ValueError, match="'implicit-with-residual'.*needs an explicit tableau"):
        ButcherTableau(name="implicit-with-residual", a=[[1]], b=[1], c=[1], order=1, b_hat=None,
                       embedded_order=None, citation="test", residual_estimate=ESTIMATE)
