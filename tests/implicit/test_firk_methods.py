"""Fully implicit Runge-Kutta methods: observed order, Robertson against scipy, errors and memory.

One compiled solver per method and configuration (module-scoped), tiny
batches: numba compiles dominate the time.
"""

import numpy as np
import pytest

import batchode
from batchode import Status
from batchode.algorithms import ButcherTableau, available_methods, get_tableau
from batchode.systems.examples import exponential_decay, harmonic_oscillator, robertson

FIRK_METHODS = available_methods("firk").names
EXACT = np.array([np.cos(4.0), -np.sin(4.0)])

# Steps in the asymptotic range with the float64 error far above round-off
# (the finest errors are 3e-11 to 4e-8).
STEPS = {"radau-iia-3": [4e-2, 2e-2, 1e-2], "gauss-legendre-4": [0.1, 0.05, 0.025],
         "radau-iia-5": [0.2, 0.1, 0.05], "gauss-legendre-6": [0.4, 0.2, 0.1]}


def test_every_firk_method_has_steps():
    assert set(STEPS) == set(FIRK_METHODS)


@pytest.mark.parametrize("method", FIRK_METHODS)
def test_observed_order(method):
    # With rtol = atol = 1e-12 the iteration runs at its floor 10 eps / rtol
    # (2.2e-3 of weights 1e-12): the stage error left by Newton is about
    # 1e-15, far below the finest truncation error, so it cannot bend the slope.
    floor = 10 * np.finfo(np.float64).eps / 1e-12
    solver = batchode.Solver(harmonic_oscillator(), method=method, step_controller="fixed", dt=0.1,
                             max_steps=10**6, backend="cpu", newton_tolerance=floor, rtol=1e-12, atol=1e-12)
    steps, errors = STEPS[method], []
    for dt in steps:
        solver.update(dt=dt)
        result = solver.solve((0.0, 4.0))
        assert result.success.all()
        errors.append(np.abs(result.final_state[0] - EXACT).max())
    slopes = np.diff(np.log(errors)) / np.diff(np.log(steps))
    assert abs(slopes[-1] - get_tableau(method).order) < 0.2, (method, errors, slopes)
    # A linear problem: the simplified Newton iteration with the exact
    # Jacobian solves it in one iteration, plus at most one to confirm.
    assert result.n_newton_iterations[0] <= 2 * result.n_accepted[0]


def test_radau_iia_5_robertson_matches_scipy_radau(robertson_reference):
    k1, reference = robertson_reference
    # PI, as when the coupled engine's counts below were measured (the
    # default, Gustafsson's controller, takes other steps).
    result = batchode.solve_ivp(robertson(), (0.0, 1e5), parameters={"k1": k1}, method="radau-iia-5",
                                rtol=1e-6, atol=1e-10, backend="cpu", step_controller="pi")
    assert result.success.all(), result.status_names()
    # y1 and y3 at rtol level (measured: 6e-8 relative); y2 is O(1e-10) at
    # t = 1e5, controlled by atol.
    np.testing.assert_allclose(result.final_state[:, [0, 2]], reference[:, [0, 2]], rtol=1e-6)
    np.testing.assert_allclose(result.final_state[:, 1], reference[:, 1], atol=1e-12)
    # Measured: 260-276 steps (4 rejected), 1.7 Newton iterations per step
    # (2.3 without the predictor from the previous step).
    steps = result.n_accepted + result.n_rejected
    assert steps.max() < 400
    assert (result.n_newton_iterations / steps).max() < 2.5
    # The transformed iteration (one real and one complex block) is the same
    # simplified Newton iteration as the coupled one with I - dt (A kron J):
    # the coupled engine took 454, 440 and 464 iterations here, and so does
    # the transformed one (round-off may move a count, not the rate).
    np.testing.assert_allclose(result.n_newton_iterations, [454, 440, 464], rtol=0.01)


def test_failed_newton_flags_one_run_and_spares_the_others():
    # One iteration allowed: y' = 0 converges at once (zero update), while
    # for y' = -y the first update (about dt / atol in the weighted norm)
    # must be confirmed by a second iteration, so every step of that run
    # fails until the step falls below dt_min.
    result = batchode.solve_ivp(exponential_decay(), (0.0, 1.0), parameters={"k": [0.0, 1.0]},
                                method="radau-iia-5", newton_max_iterations=1, dt=0.1, dt_min=1e-4,
                                backend="cpu")
    assert result.status[0] == Status.SUCCESS
    assert result.status[1] & Status.NEWTON_FAILED and result.status[1] & Status.DT_BELOW_MIN
    assert np.isnan(result.final_state[1]).all()


@pytest.mark.parametrize("method", ["gauss-legendre-4", "gauss-legendre-6", "radau-iia-3"])
def test_methods_without_estimate_refuse_adaptive_steps(method):
    with pytest.raises(ValueError, match=f"{method}.*no error estimate"):
        batchode.Solver(harmonic_oscillator(), method=method, step_controller="pi", backend="cpu")
    # and default to fixed steps, which need dt
    with pytest.raises(ValueError, match="needs a step"):
        batchode.Solver(harmonic_oscillator(), method=method, backend="cpu")


def test_krylov_linear_solver_is_refused_before_compiling():
    with pytest.raises(ValueError, match="linear_solver='gmres'"):
        batchode.Solver(harmonic_oscillator(), method="radau-iia-5", linear_solver="gmres", backend="cpu")


def test_memory_tree_shows_the_block_lus():
    adaptive = batchode.Solver(robertson(), method="radau-iia-5", linear_solver="dense", backend="cpu")
    text = adaptive.describe_memory()
    lines = [line.strip() for line in text.splitlines()]
    assert any(line.startswith("algorithm [") for line in lines)
    step = adaptive.loop.child("algorithm")
    real, pair = step.child("real_lu_0"), step.child("complex_lu_0")
    # 3 states: the real block gamma I - dt J is 3 x 3 (and also filters the
    # error estimate), the complex pair's (alpha + i beta) I - dt J a complex
    # 3 x 3 (18 reals); the coupled stage matrix would be 9 x 9 (81).
    assert real.buffer_registry.buffers["factors"].elements() == 9
    assert pair.buffer_registry.buffers["factors"].elements() == 18
    assert pair.settings.complex_entries and not real.settings.complex_entries
    assert "transformed_increments" in text and "real_lu_0 [" in text and "complex_lu_0 [" in text
    fixed = batchode.Solver(robertson(), method="radau-iia-5", linear_solver="dense", step_controller="fixed",
                            dt=0.1, backend="cpu")
    # Fixed steps need the same blocks (the filter adds none): only the
    # predictive controller's history (last accepted step and error) differs.
    assert fixed.loop.buffer_registry.persistent_local_elements == \
        adaptive.loop.buffer_registry.persistent_local_elements - 2


def test_an_equation_system_gets_sparse_blocks_with_the_jacobian_non_zeros_only():
    system = robertson()
    solver = batchode.Solver(system, method="radau-iia-5", backend="cpu")  # the default: sparse
    step = solver.loop.child("algorithm")
    assert step.linear_solver == "sparse"
    real, pair = step.child("real_lu_0"), step.child("complex_lu_0")
    stored = real.schedule.stored
    # Robertson's Jacobian has 7 non-zeros of 9; nothing fills in.
    assert len(system.jacobian_sparsity) == 7 and stored == 8
    assert real.buffer_registry.buffers["factors"].elements() == stored
    assert pair.buffer_registry.buffers["factors"].elements() == 2 * stored
    buffers = step.buffer_registry.buffers
    assert buffers["jacobian"].elements() == 7 and not buffers["jacobian_work"].is_enabled()


def test_singular_stage_matrix_is_refused():
    # A fully implicit tableau with a singular stage matrix (Lobatto IIIA,
    # first row zero) has no d = b^T A^-1: refused with its name.
    lobatto = ButcherTableau(
        name="lobatto-iiia-4", a=[[0, 0, 0], ["5/24", "1/3", "-1/24"], ["1/6", "2/3", "1/6"]],
        b=["1/6", "2/3", "1/6"], c=[0, "1/2", 1], order=4, b_hat=None, embedded_order=None, citation="test")
    with pytest.raises(ValueError, match="lobatto-iiia-4.*invertible"):
        batchode.Solver(harmonic_oscillator(), method=lobatto, step_controller="fixed", dt=0.1, backend="cpu")


def test_block_children_follow_the_tableau():
    from batchode.algorithms import FIRKStep
    from batchode.systems.device import SystemFactory

    step = FIRKStep(SystemFactory(robertson()), tableau="radau-iia-5", n_states=3, compute_error=True)

    def sizes():
        return {name: child.settings.size for name, child in step.children.items() if name != "system"}

    assert sizes() == {"real_lu_0": 3, "complex_lu_0": 3}
    # radau_iia_3: one complex pair and no real eigenvalue; the real block's
    # child stays, with no memory.
    step.update(tableau="radau-iia-3", compute_error=False)
    assert sizes() == {"real_lu_0": 0, "complex_lu_0": 3}
    assert step.buffer_registry.child("real_lu_0").persistent_local_elements == 0
    # A tableau with more blocks adds children: 4 distinct real eigenvalues.
    diagonal = ButcherTableau(name="four-real", a=np.diag([0.1, 0.2, 0.3, 0.4]) + np.triu(np.full((4, 4), 0.01), 1),
                              b=[0.25] * 4, c=[0.13, 0.22, 0.31, 0.4], order=1, b_hat=None, embedded_order=None,
                              citation="test")
    step.update(tableau=diagonal, n_states=2)
    assert sizes() == {"real_lu_0": 2, "complex_lu_0": 0, "real_lu_1": 2, "real_lu_2": 2, "real_lu_3": 2}


def test_embedded_weights_of_a_user_tableau_drive_adaptive_steps():
    # Gauss-Legendre 4 with an order-1 embedded solution b_hat = (1, 0): the
    # engine forms dt (b - b_hat) . F as ((b - b_hat)^T A^-1) . Z.
    gauss = get_tableau("gauss-legendre-4")
    embedded = ButcherTableau(name="gauss4-embedded", a=gauss.a, b=gauss.b, c=gauss.c, order=4, b_hat=(1.0, 0.0),
                              embedded_order=1, citation="test")
    result = batchode.solve_ivp(harmonic_oscillator(), (0.0, 4.0), method=embedded, rtol=1e-6, atol=1e-6,
                                backend="cpu")
    assert result.success.all()
    # The estimate is O(dt^2), so dt ~ sqrt(tolerance): measured 2704 steps
    # here (270 at 1e-4); an estimate of another order would be far off.
    assert 1000 < result.n_accepted[0] < 10_000
    assert np.abs(result.final_state[0] - EXACT).max() < 1e-6


@pytest.mark.parametrize("controller", ["i", "pid", "gustafsson"])
def test_exponent_controllers_follow_the_order_of_radau5s_estimate(controller):
    # RADAU5's filtered estimate measures the step against a solution of
    # order 3: the exponents are 1/4 (Julia's adaptive order), not 1/6.
    solver = batchode.Solver(robertson(), method="radau-iia-5", step_controller=controller, backend="cpu")
    assert solver.loop.child("controller").settings.order == 3
    # PI keeps Julia's constants of the method's order 5: beta1 = 7 / (10 * 5).
    pi = batchode.Solver(robertson(), method="radau-iia-5", step_controller="pi",
                         backend="cpu").loop.child("controller").settings
    assert pi.beta1 == pytest.approx(0.14)
