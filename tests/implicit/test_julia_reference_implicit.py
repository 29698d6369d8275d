"""float32 accuracy of the implicit methods against DifferentialEquations.jl (Lorenz ensemble).

Same gate as tests/integration/test_julia_reference.py (the ``julia``
fixture picks the pins): our error at most 2x Julia's.
"""

import pytest

import batchode
from batchode.systems.examples import lorenz
from julia_reference import JuliaReference

IMPLICIT = JuliaReference().methods_of("implicit", "dirk", "rosenbrock", "firk")
# Adaptive pins. The embedded pairs are Julia's. backwards_euler and the
# trapezoidal rule (crank_nicolson, trapezoidal_dirk) form Julia's
# ImplicitEuler and Trapezoid estimates from divided differences of the
# accepted solutions (HistoryEstimate): within 1.00 +- 0.06x of Julia's error
# at every tolerance where both succeed. Julia's SDIRK22() returns a
# Trapezoid, so sdirk_2_2 (Alexander's method with its first-order embedded
# estimate, a different method) is compared with the trapezoidal rule: its
# estimate overestimates the error, so at the pin (tol 1e-3) ours is 0.02x,
# and this pin only guards against a gross loss of accuracy.
# rosenbrock23_sciml is ode23s, as Julia's Rosenbrock23 (1.00x throughout).
# radau_iia_5 has RADAU5's filtered estimate, refined on a first or retried
# step, RADAU5's predictive (Gustafsson) controller with the safety factor
# following the Newton iterations, and RADAU5's tolerances for the estimate,
# rtol' = rtol^(2/3) / 10 and atol' = rtol' atol / rtol, as Julia's
# RadauIIA5: at the pin (tol 1e-2, about 11 steps) our error is 1.87x
# Julia's, and 0.79 / 0.90 / 1.13 / 0.24x at 1e-3 ... 1e-6 (measured). The
# margin at the pin is thin but the run deterministic. With the tolerances
# as given it was 5.3x (9 steps); with PI and the tolerances as given 1.1x
# (17 steps), but PI took twice the steps of rodas5p on stiff problems;
# Julia's steady band [1, 1.2] gave 1.60x at the pin but 2.09x at 1e-5.
ADAPTIVE = ["backwards_euler", "crank_nicolson", "trapezoidal_dirk", "sdirk_2_2", "kvaerno3", "kvaerno5",
            "l_stable_sdirk_4", "ros3p", "rodas3p", "rosenbrock23_sciml", "radau_iia_5"]


@pytest.mark.parametrize("method", IMPLICIT)
def test_fixed_step_error_within_2x_of_julia(julia, method):
    dt, julia_error = julia.pin("fixed", method)
    result = batchode.solve_ivp(lorenz(), (0.0, 1.0), parameters={"rho": julia.rho}, method=method,
                                step_controller="fixed", dt=dt, precision="float32", backend="cpu")
    ours = julia.error(result.final_state)
    assert result.success.all()
    assert ours <= 2 * julia_error, f"{method} dt={dt}: ours {ours:.3e} vs Julia {julia_error:.3e}"


@pytest.mark.parametrize("method", ADAPTIVE)
def test_adaptive_error_within_2x_of_julia(julia, method):
    tol, julia_error = julia.pin("adaptive", method)
    result = batchode.solve_ivp(lorenz(), (0.0, 1.0), parameters={"rho": julia.rho}, method=method,
                                rtol=tol, atol=tol, dt=0.01, dt_min=1e-6, dt_max=0.5,
                                precision="float32", backend="cpu")
    ours = julia.error(result.final_state)
    assert result.success.all()
    assert ours <= 2 * julia_error, f"{method} tol={tol}: ours {ours:.3e} vs Julia {julia_error:.3e}"
    # A work guard against runaway step counts. Backward Euler's error falls
    # only as tol^(1/2): at its pin (tol 1e-5) it takes up to about 2400 steps.
    assert result.n_accepted.max() < (5000 if method == "backwards_euler" else 2000)
