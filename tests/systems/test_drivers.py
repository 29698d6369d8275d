"""Sampled forcing inputs: validation, interpolation in device code, and a driven system."""

import numba
import numpy as np
import pytest

import batchode
from batchode.systems.drivers import Driver, compile_driver

ZETA, OMEGA, FORCING = 0.1, 1.0, 1.3  # damping ratio, natural and forcing frequencies


def forced_oscillator_exact(t):
    """x of x'' + 2 zeta omega x' + omega^2 x = cos(FORCING t), x(0) = 1, x'(0) = 0."""
    detuning, damping = OMEGA**2 - FORCING**2, 2 * ZETA * OMEGA * FORCING
    a, b = np.linalg.solve([[detuning, damping], [-damping, detuning]], [1.0, 0.0])
    damped = OMEGA * np.sqrt(1 - ZETA**2)
    c1 = 1.0 - a
    c2 = (ZETA * OMEGA * c1 - FORCING * b) / damped
    homogeneous = np.exp(-ZETA * OMEGA * t) * (c1 * np.cos(damped * t) + c2 * np.sin(damped * t))
    return homogeneous + a * np.cos(FORCING * t) + b * np.sin(FORCING * t)


def forced_oscillator(driver):
    return batchode.ODESystem.from_equations(
        """
        dx = v
        dv = -2*zeta*omega*v - omega**2*x + force
        """,
        parameters={"zeta": ZETA, "omega": OMEGA}, initial_state={"x": 1.0, "v": 0.0},
        drivers={"force": driver},
    )


@pytest.fixture(scope="module")
def sampled_forcing():
    times = np.linspace(0.0, 12.0, 12_001)  # spacing 1e-3: spline error ~1e-14, far below the steps' error
    return Driver(times, np.cos(FORCING * times))


@pytest.mark.parametrize("interpolation", ["linear", "cubic"])
@pytest.mark.parametrize("ends", ["clamped", "periodic"])
def test_device_interpolation_matches_the_numpy_reference(interpolation, ends):
    times = np.sort(np.random.default_rng(3).uniform(0.0, 2 * np.pi, 40))
    times[0], times[-1] = 0.0, 2 * np.pi
    driver = Driver(times, np.sin(times) + 0.5, interpolation=interpolation, ends=ends)
    value, slope = compile_driver(driver, numba.njit, np.float64)

    @numba.njit
    def evaluate_all(ts, out, grad):
        for i in range(ts.size):
            out[i] = value(ts[i])
            grad[i] = slope(ts[i])

    t = np.linspace(-3.0, 10.0, 2001)  # inside, before and after the samples
    got, got_slope = np.empty_like(t), np.empty_like(t)
    evaluate_all(t, got, got_slope)
    expected, expected_slope = driver.evaluate(t)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-13)
    np.testing.assert_allclose(got_slope, expected_slope, rtol=0, atol=1e-11)
    np.testing.assert_allclose(driver(times), np.sin(times) + 0.5, atol=1e-14)  # through every sample
    if ends == "clamped":
        assert np.all(got[t < 0] == driver.values[0]) and np.all(got_slope[t > 2 * np.pi] == 0)
    else:
        np.testing.assert_allclose(got[t > 2 * np.pi], driver(t[t > 2 * np.pi] - 2 * np.pi), atol=1e-12)


def test_cubic_spline_error_falls_as_the_fourth_power_of_the_spacing():
    errors = []
    fine = np.linspace(0.5, 2.5, 5001)
    for count in (41, 81, 161):
        times = np.linspace(0.0, 3.0, count)
        errors.append(np.abs(Driver(times, np.sin(times))(fine) - np.sin(fine)).max())
    slopes = np.log2(np.array(errors[:-1]) / errors[1:])
    assert np.all(np.abs(slopes - 4) < 0.3), slopes


def test_forced_oscillator_converges_at_the_method_order(sampled_forcing):
    solver = batchode.Solver(forced_oscillator(sampled_forcing), method="classical-rk4", step_controller="fixed",
                             dt=0.1, backend="cpu")
    steps = [0.1, 0.05, 0.025, 0.0125]
    errors = []
    for dt in steps:
        solver.update(dt=dt)
        result = solver.solve((0.0, 10.0), save_every=1.0)
        errors.append(np.abs(result.y[0, :, 0] - forced_oscillator_exact(result.t)).max())
    slopes = np.log2(np.array(errors[:-1]) / errors[1:])
    # classical RK4 is order 4; the sampled forcing adds ~1e-14, far below the smallest error (~1e-9)
    assert np.all(np.abs(slopes - 4) < 0.2), (errors, slopes)


def test_rosenbrock_uses_the_driver_slope(sampled_forcing):
    # Rosenbrock methods need df/dt: for a driven system that is the driver's slope.
    result = batchode.solve_ivp(forced_oscillator(sampled_forcing), (0.0, 10.0), method="rodas4", rtol=1e-9,
                                atol=1e-9, save_every=2.0, parameters={"zeta": [ZETA, ZETA]}, backend="cpu")
    assert result.success.all()
    np.testing.assert_allclose(result.y[:, :, 0], np.tile(forced_oscillator_exact(result.t), (2, 1)), atol=2e-7)


@pytest.mark.parametrize("driver, match", [
    (Driver, None),
    (([0.0, 2.0, 1.0, 3.0], [0.0] * 4), r"strictly increasing: times\[1\] = 2.0 is followed by times\[2\] = 1.0"),
    (([0.0, 1.0, 2.0, 3.0], [0.0, np.nan, 0.0, 0.0]), r"values\[1\] is nan"),
    (([0.0, 1.0, 2.0, 3.0], [0.0, 1.0]), "one length"),
    (([0.0, 1.0, 2.0], [0.0, 1.0, 2.0]), "cubic driver needs at least 4 samples"),
    ("not samples", "must be a batchode.Driver or a \\(times, values\\) pair"),
])
def test_bad_driver_samples_fail_when_the_system_is_defined(driver, match):
    if driver is Driver:
        with pytest.raises(ValueError, match="must end where it starts"):
            Driver([0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 3.0], ends="periodic")
        with pytest.raises(ValueError, match="interpolation must be one of"):
            Driver([0.0, 1.0], [0.0, 1.0], interpolation="quadratic")
        return
    with pytest.raises(ValueError, match=match):
        forced_oscillator(driver)


def test_a_driver_named_like_a_parameter_is_an_error():
    with pytest.raises(ValueError, match="'zeta' is defined both as a parameter and as a driver"):
        batchode.ODESystem.from_equations("dx = -zeta * x", parameters={"zeta": 1.0},
                                          drivers={"zeta": Driver([0.0, 1.0], [1.0, 1.0], interpolation="linear")})
