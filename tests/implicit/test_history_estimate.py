"""The divided-difference (history) error estimate of backward Euler and the trapezoidal rule.

As OrdinaryDiffEq.jl's ImplicitEuler and Trapezoid form it (see
batchode.algorithms.dirk). The compiled float64 step is called from Python
on y' = -y with exact solution values as the accepted history, so every
quantity has a closed form. The Lorenz comparison with Julia is in
test_julia_reference_implicit.py.

On y' = lambda y with equal steps h the local error of a method of order p
(q = p + 1) is ``C h^q y^(q)`` (C = 1/2 for backward Euler, 1/12 for the
trapezoidal rule), and the q-th divided difference of q exact points and the
computed ``y_new = exact + C h^q y^(q)`` is ``(1 + C) y^(q) / q!`` to leading
order. So the estimate ``scale h^q D`` is the local error times
``scale (1 + C) / (C q!)``: 7/8 for backward Euler, 91/144 for the
trapezoidal rule (both with Julia's scale, 7/12 of the exact leading term).
"""

import math

import numpy as np
import pytest

from batchode.algorithms import DIRKStep, make_step
from batchode.algorithms.dirk import START_UP_ERROR
from batchode.algorithms.tableaus import ButcherTableau, HistoryEstimate, get_tableau
from batchode.solvers.linear import make_linear_solver
from batchode.solvers.newton import Newton
from batchode.systems.device import SystemFactory
from batchode.systems.examples import exponential_decay

#: method -> error constant C of its local error C h^q y^(q)
ERROR_CONSTANT = {"backwards-euler": 1 / 2, "trapezoidal-dirk": 1 / 12}


class CompiledStep:
    """A DIRK step on y' = -y, float64 on the CPU, called from Python with its own persistent memory.

    atol = 1, rtol = 0: unit error weights, so the start-up error is START_UP_ERROR itself.
    """

    def __init__(self, method):
        system = SystemFactory(exponential_decay(), precision=np.float64, backend="cpu")
        self.factory = make_step(method, system, compute_error=True,
                                 newton_settings=dict(tolerance=1e-13, rtol=1e-13, atol=1e-13),
                                 tolerances=dict(rtol=0.0, atol=1.0))
        self.function = self.factory.device_function
        registry = self.factory.buffer_registry
        self.shared = np.zeros(max(registry.shared_memory_elements, 1))
        self.persistent = np.full(max(registry.persistent_local_elements, 1), np.nan)  # never read unset

    def __call__(self, t, dt, y, fsal_valid, accepted):
        y_new, error = np.empty(1), np.empty(1)
        status = self.function(t, dt, np.array([y]), np.array([1.0]), y_new, error, fsal_valid, accepted,
                               np.zeros(4, np.int32), self.factory.runtime_vector(), self.shared, self.persistent)
        assert status == 0
        return y_new[0], error[0]


@pytest.fixture(scope="module", params=sorted(ERROR_CONSTANT))
def step(request):
    return request.param, CompiledStep(request.param)


def estimate_after_history(step, h, t_end=0.5):
    """``(estimate, true local error)`` of the step from ``t_end`` after q - 1 accepted steps of size h.

    The history points are exact: each call gets ``exp(-t)`` as its state.
    """
    q = step.factory.settings.history.order
    times = [t_end - (q - 1 - i) * h for i in range(q)]
    for accepted, t in enumerate(times):
        y_new, error = step(t, h, math.exp(-t), fsal_valid=accepted > 0, accepted=accepted)
    return error, y_new - math.exp(-(times[-1] + h))


def test_estimate_is_the_predicted_multiple_of_the_local_error(step):
    method, compiled = step
    estimate = compiled.factory.settings.history
    c, q = ERROR_CONSTANT[method], estimate.order
    predicted = estimate.scale * (1 + c) / (c * math.factorial(q))
    error, local_error = estimate_after_history(compiled, 1e-3)
    assert error / local_error == pytest.approx(predicted, rel=3e-3)  # O(h) off: 1e-3 relative at h = 1e-3


def test_estimate_scales_as_dt_to_the_order_plus_one(step):
    _, compiled = step
    q = compiled.factory.settings.history.order
    coarse, _ = estimate_after_history(compiled, 2e-3)
    fine, _ = estimate_after_history(compiled, 1e-3)
    assert np.log2(coarse / fine) == pytest.approx(q, abs=0.02)


def test_start_up_steps_report_an_error_just_below_one(step):
    # Until q points are accepted there is no divided difference: the step
    # writes START_UP_ERROR times the error weights (here 1), Julia's EEst = 1.
    _, compiled = step
    q = compiled.factory.settings.history.order
    for accepted in range(q - 1):
        t = 0.1 * accepted
        _, error = compiled(t, 0.1, math.exp(-t), fsal_valid=accepted > 0, accepted=accepted)
        assert error == START_UP_ERROR < 1.0
    _, error = compiled(0.1 * (q - 1), 0.1, math.exp(-0.1 * (q - 1)), fsal_valid=True, accepted=q - 1)
    assert 0.0 < abs(error) < 1e-2


def test_history_moves_on_only_after_accepted_steps(step):
    # A rejected attempt (then a retry from the same point, fsal_valid False)
    # must leave the estimate exactly as if the attempt had never been made.
    _, compiled = step
    direct, _ = estimate_after_history(compiled, 1e-2)
    q = compiled.factory.settings.history.order
    times = [0.5 - (q - 1 - i) * 1e-2 for i in range(q)]
    for accepted, t in enumerate(times[:-1]):
        compiled(t, 1e-2, math.exp(-t), fsal_valid=accepted > 0, accepted=accepted)
    t = times[-1]
    compiled(t, 0.3, math.exp(-t), fsal_valid=True, accepted=q - 1)  # too large: rejected
    _, retried = compiled(t, 1e-2, math.exp(-t), fsal_valid=False, accepted=q - 1)
    assert retried == direct


def test_fixed_steps_keep_no_history():
    system = SystemFactory(exponential_decay(), precision=np.float64, backend="cpu")
    fixed = make_step("trapezoidal-dirk", system, compute_error=False, tolerances=dict(rtol=1e-6, atol=1e-6))
    assert not fixed.buffer_registry.buffers["solution_history"].is_enabled()
    assert fixed.settings.rtol is None  # compiled code shared across tolerances
    adaptive = make_step("trapezoidal-dirk", system, compute_error=True, tolerances=dict(rtol=1e-6, atol=1e-6))
    history = adaptive.buffer_registry.buffers["solution_history"]
    assert history.is_enabled() and history.location.name == "LOCAL_PERSISTENT"
    assert adaptive.buffer_registry.persistent_local_elements >= 3 * (1 + 1)  # q points of (t, y)


def test_history_estimate_needs_the_tolerances():
    system = SystemFactory(exponential_decay(), precision=np.float64, backend="cpu")
    newton = Newton(system, make_linear_solver("dense", system))
    with pytest.raises(ValueError, match="backwards-euler.*history.*pass rtol and atol"):
        DIRKStep(system, newton, tableau="backwards-euler", n_states=1, compute_error=True)


@pytest.mark.parametrize("fields, message", [
    (dict(order=1), "int >= 2"),
    (dict(order=2.0), "int >= 2"),
    (dict(scale=0.0), "positive finite"),
    (dict(scale=float("nan")), "positive finite"),
])
def test_invalid_history_estimate_is_rejected(fields, message):
    with pytest.raises(ValueError, match=message):
        HistoryEstimate(**{"order": 2, "scale": "7/12", "citation": "test", **fields})


BACKWARD_EULER = get_tableau("backwards-euler")
TABLEAU = dict(a=[[1]], b=[1], c=[1], order=1, b_hat=None, embedded_order=None, citation="test")


@pytest.mark.parametrize("fields, message", [
    (dict(history_estimate=HistoryEstimate(order=3, scale=1, citation="test")), "order must be 2"),
    (dict(a=[[0]], c=[0], history_estimate=BACKWARD_EULER.history_estimate), "needs a diagonally implicit"),
    (dict(a=[[0, 0], [1, 0]], b=["1/2", "1/2"], c=[0, 1], order=2, b_hat=[1, 0], embedded_order=1,
          history_estimate=HistoryEstimate(order=3, scale=1, citation="test")), "embedded pair.*history estimate"),
])
def test_tableau_refuses_a_mismatched_history_estimate(fields, message):
    with pytest.raises(ValueError, match=message):
        ButcherTableau(name="test", **{**TABLEAU, **fields})
