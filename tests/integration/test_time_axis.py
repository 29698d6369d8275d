"""The time axis: interpolated saves, ``t_eval``, ``save_from``, backward integration, where runs stop.

Saves inside a step come from the interpolant, so what is saved never
changes the steps; these tests hold that bit for bit for every method
family, check the interpolated values against tight scipy references and
the interpolant's order on a problem with an exact solution, and check
backward integration against scipy integrating backwards.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp as scipy_solve_ivp

import batchode
from batchode import Solver
from batchode.status import Status

LORENZ = """
dx = sigma * (y - x)
dy = x * (rho - z) - y
dz = x * y - beta * z
"""
RHO = np.array([20.0, 24.0, 28.0])


@pytest.fixture(scope="module")
def lorenz():
    return batchode.ODESystem.from_equations(LORENZ, parameters={"sigma": 10.0, "rho": 28.0, "beta": 8 / 3},
                                             initial_state={"x": 1.0, "y": 0.0, "z": 0.0})


def lorenz_rhs(rho):
    return lambda t, u: [10.0 * (u[1] - u[0]), u[0] * (rho - u[2]) - u[1], u[0] * u[1] - 8 / 3 * u[2]]


@pytest.fixture(scope="module")
def lorenz_references():
    """scipy DOP853 at rtol = atol = 1e-12 over t in [0, 2], dense, one per rho."""
    return [scipy_solve_ivp(lorenz_rhs(rho), (0.0, 2.0), [1.0, 0.0, 0.0], method="DOP853", rtol=1e-12,
                            atol=1e-12, dense_output=True).sol for rho in RHO]


#: One method of every family and error estimate: explicit FSAL pair,
#: explicit with a residual estimate, a high-order pair, a DIRK, a Rosenbrock
#: method, a fully implicit method and a history estimate.
FAMILIES = ["tsit5", "classical-rk4", "dop853", "kvaerno5", "rodas5p", "radau-iia-5", "backwards-euler"]


@pytest.fixture(scope="module")
def family_solvers(lorenz):
    return {method: Solver(lorenz, method=method, rtol=1e-6, atol=1e-6, backend="cpu") for method in FAMILIES}


@pytest.mark.parametrize("method", FAMILIES)
def test_saves_never_change_the_steps(family_solvers, method):
    """save_every = 0.01 and 0.001 take the same steps to the same final state as no saves, bit for bit."""
    solver = family_solvers[method]
    bare = solver.solve((0.0, 2.0), parameters={"rho": RHO})
    assert (bare.status == 0).all()
    for every in (0.01, 0.001):
        saved = solver.solve((0.0, 2.0), parameters={"rho": RHO}, save_every=every)
        assert len(saved.t) == round(2.0 / every) + 1
        for counter in ("n_accepted", "n_rejected", "n_newton_iterations", "n_linear_iterations"):
            np.testing.assert_array_equal(getattr(saved, counter), getattr(bare, counter), err_msg=counter)
        np.testing.assert_array_equal(saved.y_final, bare.y_final)
        np.testing.assert_array_equal(saved.final_state, bare.final_state)
        np.testing.assert_array_equal(saved.y[:, -1], bare.final_state)  # the last save is the end point itself
        np.testing.assert_array_equal(saved.y[:, 0], np.tile([1.0, 0.0, 0.0], (3, 1)))


def test_fixed_step_saves_never_change_the_steps(lorenz):
    solver = Solver(lorenz, method="classical-rk4", step_controller="fixed", dt=0.003, backend="cpu")
    bare = solver.solve((0.0, 1.0), parameters={"rho": RHO})
    saved = solver.solve((0.0, 1.0), parameters={"rho": RHO}, save_every=0.01)
    np.testing.assert_array_equal(saved.n_accepted, bare.n_accepted)
    np.testing.assert_array_equal(saved.final_state, bare.final_state)
    assert bare.n_accepted[0] == 334  # ceil(1 / 0.003): the last step is shortened onto t = 1


def test_step_to_saves_lands_on_every_save(lorenz, lorenz_references):
    """step_to_saves=True keeps saving on steps: more steps, every save an accepted state."""
    interpolated = Solver(lorenz, method="tsit5", rtol=1e-6, atol=1e-6, backend="cpu")
    stepped = Solver(lorenz, method="tsit5", rtol=1e-6, atol=1e-6, backend="cpu", step_to_saves=True)
    a = interpolated.solve((0.0, 2.0), parameters={"rho": RHO}, save_every=0.01)
    b = stepped.solve((0.0, 2.0), parameters={"rho": RHO}, save_every=0.01)
    assert (b.n_accepted >= 200).all() and (a.n_accepted < b.n_accepted).all()
    reference = np.stack([sol(b.t).T for sol in lorenz_references])
    assert np.abs(b.y - reference).max() < 1e-3  # the same tolerance as the interpolated saves below


#: How many times its end-point error each method's interpolated saves may
#: be off (measured ratio in the comment; Lorenz, t in [0, 2], rho 20-28,
#: saves every 0.01; the run's tolerance or fixed step follows its order,
#: see :func:`accuracy_solver`). Methods with their own continuous extension
#: (tsit5, bs3, dopri5, dop853, vern7, rodas4, rodas5p; the collocation
#: polynomial of radau and gauss) and low-order ones stay within a few
#: times; the cubic Hermite interpolant is third order, so between the long
#: steps of a fifth-order method without one (cash-karp, fehlberg,
#: kvaerno5) its error is well above the step's own,
#: as for DifferentialEquations.jl's SDIRK methods, which interpolate the
#: same way. DOP853's end-point error at t = 2 happens to be small (1e-11),
#: hence its 19. Each bound is about twice the measurement, at least 3.
INTERPOLATION_ERROR_MULTIPLE = {
    "backwards-euler": 4.0,  # 1.6 (Hermite)
    "bogacki-shampine-32": 3.0,  # 1.0
    "cash-karp-54": 320.0,  # 159 (Hermite)
    "classical-rk4": 3.0,  # 1.1 (Hermite)
    "crank-nicolson": 3.0,  # 1.0 (Hermite)
    "dormand-prince-54": 3.0,  # 0.9
    "dormand-prince-853": 40.0,  # 18.7
    "euler": 3.0,  # 1.1 (Hermite)
    "fehlberg-45": 60.0,  # 27.6 (Hermite)
    "gauss-legendre-4": 15.0,  # 6.0 (collocation; the end points of a symmetric method are superconvergent)
    "gauss-legendre-6": 3.0,  # 1.3 (collocation)
    "heun-21": 3.0,  # 1.1 (Hermite)
    "implicit-midpoint": 5.0,  # 2.1 (Hermite)
    "kvaerno3": 3.0,  # 1.0 (Hermite)
    "kvaerno5": 100.0,  # 45 (Hermite)
    "l-stable-dirk-3": 3.0,  # 1.0 (Hermite)
    "l-stable-sdirk-4": 5.0,  # 2.3 (Hermite)
    "radau-iia-3": 3.0,  # 1.0 (collocation)
    "radau-iia-5": 10.0,  # 4.0 (collocation; 12.2 with the Hermite cubic)
    "ralston-33": 3.0,  # 1.0 (Hermite)
    "rodas3p": 3.0,  # 1.0 (Hermite)
    "rodas4": 3.0,  # 1.4
    "rodas5p": 5.0,  # 2.1
    "ros3p": 3.0,  # 1.0 (Hermite)
    "rosenbrock23": 3.0,  # 1.0 (Hermite)
    "sdirk-2-2": 3.0,  # 1.1 (Hermite)
    "trapezoidal-dirk": 3.0,  # 1.0 (Hermite)
    "tsit5": 6.0,  # 2.9
    "vern7": 3.0,  # 1.4
}


def test_every_method_has_a_stated_interpolation_bound():
    assert sorted(INTERPOLATION_ERROR_MULTIPLE) == sorted(batchode.available_methods().names)


def accuracy_solver(lorenz, method: str) -> Solver:
    """The method at a tolerance (adaptive) or step (fixed) its order makes accurate without 10^5 steps."""
    info = next(info for info in batchode.available_methods() if info.name == method)
    if info.adaptive:
        tolerance = 1e-6 if info.order <= 2 else (1e-8 if info.order <= 4 else 1e-9)
        return Solver(lorenz, method=method, rtol=tolerance, atol=tolerance, backend="cpu", max_steps=400_000)
    dt = {1: 1e-4, 2: 1e-3, 3: 2e-3, 4: 5e-3}.get(info.order, 1e-2)
    return Solver(lorenz, method=method, step_controller="fixed", dt=dt, backend="cpu", max_steps=400_000)


@pytest.mark.parametrize("method", sorted(INTERPOLATION_ERROR_MULTIPLE))
def test_interpolated_saves_match_a_tight_reference(lorenz, lorenz_references, method):
    """Saves inside steps agree with scipy DOP853 at 1e-12 within a stated multiple of the end point's error."""
    res = accuracy_solver(lorenz, method).solve((0.0, 2.0), parameters={"rho": RHO}, save_every=0.01)
    assert (res.status == 0).all()
    reference = np.stack([sol(res.t).T for sol in lorenz_references])
    error = np.abs(res.y - reference).max(axis=(0, 2))
    interior, final = error[1:-1].max(), error[-1]
    assert interior <= INTERPOLATION_ERROR_MULTIPLE[method] * final, (interior, final, interior / final)


def test_hermite_interpolant_is_third_order():
    """The saves' error between steps falls as dt^4 (local error of a cubic) on x'' = -x.

    Fixed steps of Cash-Karp (fifth order, no interpolant of its own) keep
    the end points' error an order below the interpolation error, so the
    saves at 37 % of each step show the interpolant. The fitted slope is 4
    within 0.25 (measured 4.00; the margin covers the curvature of the
    error's leading term).
    """
    oscillator = batchode.ODESystem.from_equations("dx = v\ndv = -x", initial_state={"x": 1.0, "v": 0.0})
    errors, steps = [], [0.2, 0.1, 0.05]
    for dt in steps:
        solver = Solver(oscillator, method="cash-karp-54", step_controller="fixed", dt=dt, backend="cpu")
        times = (np.arange(10) + 0.37) * dt
        res = solver.solve((0.0, 2.0), t_eval=times)
        errors.append(np.abs(res.y[0, :, 0] - np.cos(times)).max())
    slope = np.polyfit(np.log(steps), np.log(errors), 1)[0]
    assert abs(slope - 4.0) < 0.25, (slope, errors)


def test_t_eval_saves_at_the_given_times(family_solvers, lorenz_references):
    times = [0.05, 0.5, 1.2345, 1.9]
    res = family_solvers["tsit5"].solve((0.0, 2.0), parameters={"rho": RHO}, t_eval=times)
    np.testing.assert_array_equal(res.t, times)
    assert res.y.shape == (3, 4, 3)
    reference = np.stack([sol(times).T for sol in lorenz_references])
    assert np.abs(res.y - reference).max() < 1e-3  # rtol 1e-6 over a chaotic span
    np.testing.assert_array_equal(res.t_final, 2.0)  # the run still goes to the end of t_span
    bare = family_solvers["tsit5"].solve((0.0, 2.0), parameters={"rho": RHO})
    np.testing.assert_array_equal(res.final_state, bare.final_state)


def test_save_from_skips_the_transient(lorenz):
    """Nothing before save_from is saved or summarised; the saves after it are those of a full run."""
    solver = Solver(lorenz, method="tsit5", backend="cpu", summaries=["mean", "max"])
    full = solver.solve((0.0, 2.0), parameters={"rho": RHO}, save_every=0.1)
    late = solver.solve((0.0, 2.0), parameters={"rho": RHO}, save_every=0.1, save_from=1.0)
    # 1.0 + 0.1 k and 0.1 (k + 10) differ in the last bit, and so do the saves there.
    np.testing.assert_allclose(late.t, full.t[10:], rtol=0, atol=1e-12)
    np.testing.assert_allclose(late.y, full.y[:, 10:], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(late.summaries["mean"][:, 0], full.y[:, 10:].mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(late.summaries["max"][:, 0], full.y[:, 10:].max(axis=1), rtol=1e-12)


def test_backward_lorenz_matches_scipy(lorenz):
    """From the state at t = 0.5 back to t = 0, saved every 0.1, against scipy integrating backwards.

    Lorenz contracts volume forwards, so backwards it amplifies errors,
    along its most contracting direction by about e^(14.6 * 0.5) ~ 1.5e3
    over this span: at rtol = atol = 1e-9 the bound is 1e-5.
    """
    solver = Solver(lorenz, method="tsit5", rtol=1e-9, atol=1e-9, backend="cpu")
    forward = solver.solve((0.0, 0.5), parameters={"rho": RHO})
    backward = solver.solve((0.5, 0.0), y0=forward.y_final, parameters={"rho": RHO}, save_every=0.1)
    np.testing.assert_allclose(backward.t, [0.5, 0.4, 0.3, 0.2, 0.1, 0.0], atol=1e-15)
    assert (backward.status == 0).all()
    np.testing.assert_array_equal(backward.t_final, 0.0)
    for run, rho in enumerate(RHO):
        reference = scipy_solve_ivp(lorenz_rhs(rho), (0.5, 0.0), forward.y_final[run], method="DOP853",
                                    rtol=1e-12, atol=1e-12, t_eval=backward.t)
        np.testing.assert_allclose(backward.y[run], reference.y.T, rtol=0, atol=1e-5)
    assert np.abs(backward.final_state - [1.0, 0.0, 0.0]).max() < 1e-5


@pytest.mark.parametrize("method", ["rodas5p", "kvaerno5", "radau-iia-5"])
def test_backward_stiff_problem_matches_scipy(method):
    """y' = k (y - cos t) - sin t with k = 1000, from t = 1 back to 0: stiff backwards, y = cos t attracts.

    Started off the slow manifold, so the fast transient is resolved too;
    scipy's Radau integrating backwards at 1e-10 is the reference.
    """
    system = batchode.ODESystem.from_equations("dy = k * (y - cos(t)) - sin(t)", parameters={"k": 1000.0},
                                               initial_state={"y": 0.0})
    solver = Solver(system, method=method, rtol=1e-7, atol=1e-9, backend="cpu")
    res = solver.solve((1.0, 0.0), y0=[np.cos(1.0) + 0.5], t_eval=[0.999, 0.99, 0.5, 0.0])
    reference = scipy_solve_ivp(lambda t, y: 1000.0 * (y - np.cos(t)) - np.sin(t), (1.0, 0.0),
                                [np.cos(1.0) + 0.5], method="Radau", rtol=1e-10, atol=1e-12,
                                t_eval=[0.999, 0.99, 0.5, 0.0])
    assert res.status[0] == 0
    np.testing.assert_allclose(res.y[0, :, 0], reference.y[0], rtol=1e-5, atol=1e-7)
    assert res.n_accepted[0] < 500  # stiff-stable backwards: no step-size collapse


def test_failed_runs_report_where_they_stopped(lorenz):
    """A run stopped by max_steps keeps its last state; a blow-up keeps its last finite state."""
    solver = Solver(lorenz, method="tsit5", backend="cpu", max_steps=50)
    res = solver.solve((0.0, 2.0), parameters={"rho": RHO}, save_every=0.5)
    assert (res.status == int(Status.MAX_STEPS)).all()
    assert ((res.t_final > 0.0) & (res.t_final < 2.0)).all()
    assert np.isfinite(res.y_final).all() and np.isnan(res.final_state).all()
    for run, rho in enumerate(RHO):
        reference = scipy_solve_ivp(lorenz_rhs(rho), (0.0, res.t_final[run]), [1.0, 0.0, 0.0], method="DOP853",
                                    rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(res.y_final[run], reference.y[:, -1], rtol=1e-4, atol=1e-4)
    # Saves after t_final are NaN, saves before it are kept.
    reached = res.t[None, :] <= res.t_final[:, None]
    assert np.isfinite(res.y[reached]).all() and np.isnan(res.y[~reached]).all()

    blow_up = batchode.ODESystem.from_equations("dx = x**2", initial_state={"x": 1.0})
    res = Solver(blow_up, method="tsit5", backend="cpu").solve((0.0, 2.0))
    assert res.status[0] & int(Status.NONFINITE | Status.DT_BELOW_MIN | Status.MAX_STEPS)
    assert 0.99 < res.t_final[0] < 1.01  # x = 1 / (1 - t) blows up at t = 1
    assert np.isfinite(res.y_final[0, 0]) and res.y_final[0, 0] > 100.0
