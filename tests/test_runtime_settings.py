"""Run-time settings: numbers that reach the kernel as arguments, so changing them never recompiles.

Each test counts numba compiles with numba's event API: a re-solve after a
run-time change must compile nothing, and the new numbers must take effect.
"""

import contextlib
import warnings

import numpy as np
import pytest
from numba.core import event

import batchode
from batchode import ODESystem, Solver, Status
from batchode.control import PIController
from batchode.factory import CUDAFactory, is_runtime_field
from batchode.systems.examples import lorenz, robertson

RHO = np.linspace(5.0, 28.0, 6)


@contextlib.contextmanager
def counting_compiles():
    """Yield a list that holds one entry per numba compile started inside the block."""
    recorder = event.RecordingListener()
    event.register("numba:compile", recorder)
    compiles = []
    try:
        yield compiles
    finally:
        event.unregister("numba:compile", recorder)
        compiles.extend(started.data["dispatcher"] for _, started in recorder.buffer if started.is_start)


@pytest.fixture(scope="module")
def explicit_solver():
    solver = Solver(lorenz(), method="tsit5", rtol=1e-6, atol=1e-6, backend="cpu", cache=False)
    solver.solve((0.0, 1.0), parameters={"rho": RHO})
    return solver


@pytest.fixture(scope="module")
def implicit_solver():
    solver = Solver(robertson(), method="kvaerno3", rtol=1e-6, atol=1e-8, backend="cpu", cache=False,
                    linear_solver="gmres")
    solver.solve((0.0, 1.0))
    return solver


def test_every_run_time_change_reuses_the_compiled_kernel(explicit_solver):
    baseline = explicit_solver.solve((0.0, 1.0), parameters={"rho": RHO})
    key = explicit_solver.kernel.config_hash
    changes = dict(rtol=1e-9, atol=1e-10, dt_min=1e-10, dt_max=0.05, max_steps=5000,
                   loop_controller_safety=0.8, loop_controller_qmax=5.0, loop_controller_beta2=0.05)
    with counting_compiles() as compiles:
        explicit_solver.update(**changes)
        result = explicit_solver.solve((0.0, 1.0), parameters={"rho": RHO})
    assert compiles == [] and explicit_solver.kernel.config_hash == key
    assert explicit_solver.kernel.runtime_vector().tolist() != []
    # The numbers took effect: tighter tolerances and dt_max = 0.05 take more steps.
    assert np.all(result.success)
    assert np.all(result.n_accepted >= 20) and np.all(result.n_accepted > baseline.n_accepted)
    np.testing.assert_allclose(result.final_state, baseline.final_state, rtol=1e-4)
    explicit_solver.update(rtol=1e-6, atol=1e-6, dt_min=1e-12, dt_max=np.inf, max_steps=100_000,
                           loop_controller_safety=0.9, loop_controller_qmax=10.0, loop_controller_beta2=0.08)
    again = explicit_solver.solve((0.0, 1.0), parameters={"rho": RHO})
    np.testing.assert_array_equal(again.final_state, baseline.final_state)


def test_step_limits_are_read_at_run_time(explicit_solver):
    with counting_compiles() as compiles:
        explicit_solver.update(max_steps=7)
        capped = explicit_solver.solve((0.0, 1.0), parameters={"rho": RHO})
        explicit_solver.update(max_steps=100_000, dt_min=0.5)
        floored = explicit_solver.solve((0.0, 1.0), parameters={"rho": RHO})
    explicit_solver.update(dt_min=1e-12)
    assert compiles == []
    assert np.all(capped.status & Status.MAX_STEPS) and np.all(capped.n_accepted + capped.n_rejected == 7)
    assert np.all(floored.status & Status.DT_BELOW_MIN)


def test_newton_and_krylov_settings_are_read_at_run_time(implicit_solver):
    baseline = implicit_solver.solve((0.0, 1.0))
    key = implicit_solver.kernel.config_hash
    with counting_compiles() as compiles:
        implicit_solver.update(newton_max_iterations=1)
        one_iteration = implicit_solver.solve((0.0, 1.0))
        implicit_solver.update(newton_max_iterations=10, loop_algorithm_newton_linear_tolerance=1e-3,
                               loop_algorithm_newton_linear_max_iterations=1)
        loose_krylov = implicit_solver.solve((0.0, 1.0))
    implicit_solver.update(loop_algorithm_newton_linear_tolerance=1e-8,
                           loop_algorithm_newton_linear_max_iterations=100)
    assert compiles == [] and implicit_solver.kernel.config_hash == key
    assert baseline.success.all()
    # One Newton iteration per stage solve: every stage either converges at once or fails and is retried.
    assert one_iteration.n_newton_iterations[0] <= 3 * (one_iteration.n_accepted[0] + one_iteration.n_rejected[0])
    assert one_iteration.n_rejected[0] > baseline.n_rejected[0]
    # At most one Krylov iteration per solve (about 2 per Newton iteration with the defaults).
    per_newton = loose_krylov.n_linear_iterations[0] / loose_krylov.n_newton_iterations[0]
    assert per_newton <= 1.0 < 1.5 < baseline.n_linear_iterations[0] / baseline.n_newton_iterations[0]


def test_compile_time_settings_change_the_hash_and_run_time_ones_do_not():
    def key(**changes):
        return Solver(lorenz(), **{"method": "tsit5", "backend": "cpu", **changes}).kernel.config_hash

    base = key()
    for change in (dict(rtol=1e-3), dict(max_steps=10), dict(dt_max=0.1), dict(safety=0.8)):
        assert key(**change) == base, change
    for change in (dict(method="dop853"), dict(precision="float32"), dict(step_controller="pid"),
                   dict(summaries=["mean"]), dict(save_time_series=False), dict(loop_state_location="shared")):
        assert key(**change) != base, change


def test_run_time_values_are_laid_out_per_factory_with_a_block_per_child():
    solver = Solver(robertson(), method="kvaerno3", rtol=[1e-4, 1e-5, 1e-6], atol=1e-9, backend="cpu",
                    linear_solver="gmres", dt_max=2.0, max_steps=123)
    loop = solver.loop
    vector = solver.kernel.runtime_vector()
    layout = loop.runtime_layout()
    assert vector.dtype == np.float64 and vector.size == loop.runtime_size
    assert list(vector[:3]) == [1e-12, 2.0, 123.0]  # dt_min, dt_max, max_steps
    # Each child's block holds what the child itself lays out, from its offset 0.
    for name in ("algorithm", "controller"):
        np.testing.assert_array_equal(vector[layout[name]], loop.child(name).runtime_vector())
    controller = loop.child("controller")
    rtol = controller.runtime_layout()["rtol"]
    np.testing.assert_array_equal(vector[layout["controller"]][rtol], [1e-4, 1e-5, 1e-6])
    newton = loop.child("algorithm").child("newton")
    assert newton.runtime_vector()[newton.runtime_layout()["max_iterations"]].tolist() == [10.0]
    linear = newton.child("linear")
    assert linear.runtime_vector().tolist() == [1e-8, 100.0]


def test_totals_follow_a_child_reconfigured_after_it_was_adopted():
    controller = PIController(n_states=2, rtol=1e-6, atol=1e-6)
    size = controller.runtime_size

    class Parent(CUDAFactory):
        def __init__(self):
            super().__init__()
            self.add_child("controller", controller)

    parent = Parent()
    assert parent.runtime_size == size
    controller.update(n_states=5)  # compile-time: rtol and atol now take 5 entries each
    assert parent.runtime_size == size + 6
    assert parent.runtime_layout()["controller"] == slice(0, size + 6)


def test_only_declared_fields_are_run_time():
    import attrs

    runtime = {field.name for field in attrs.fields(PIController.Settings) if is_runtime_field(field)}
    assert runtime == {"rtol", "atol", "safety", "qmin", "qmax", "qsteady_min", "qsteady_max", "beta1", "beta2",
                       "qoldinit"}


def test_float32_runs_keep_float64_time():
    """Far from t = 0 a float32 time could not advance; time is float64 in every kernel."""
    decay = ODESystem.from_equations("dx = -k * x", parameters={"k": 1.0}, initial_state={"x": 1.0})
    late = batchode.solve_ivp(decay, (1e8, 1e8 + 1), precision="float32", backend="cpu", rtol=1e-5, atol=1e-7)
    assert late.status[0] == 0 and late.n_accepted[0] > 3
    np.testing.assert_allclose(late.final_state[0, 0], np.exp(-1.0), rtol=1e-4)
    dense = batchode.solve_ivp(decay, (1e4, 1e4 + 0.01), precision="float32", backend="cpu", save_every=1e-4,
                               rtol=1e-6, atol=1e-8)
    assert dense.status[0] == 0 and len(dense.t) == 101
    assert len(np.unique(dense.y[0, :, 0])) == 101
    np.testing.assert_allclose(dense.y[0, :, 0], np.exp(-(dense.t - 1e4)), rtol=1e-5)


def test_a_relative_tolerance_below_the_precision_warns_and_is_raised_to_its_floor():
    with pytest.warns(UserWarning, match=r"rtol=1e-12 is below 5 machine epsilons of float32"):
        solver = Solver(lorenz(), method="tsit5", precision="float32", rtol=1e-12, backend="cpu")
    controller = solver.loop.child("controller")
    floor = 5 * np.finfo(np.float32).eps
    np.testing.assert_array_equal(controller.runtime_vector()[controller.runtime_layout()["rtol"]], [floor] * 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Solver(lorenz(), method="tsit5", precision="float32", rtol=1e-6, backend="cpu")  # 8.4 eps: fine
