"""float32 accuracy of the implicit methods against DifferentialEquations.jl (Lorenz ensemble).

Same gate as tests/integration/test_julia_reference.py (the ``julia``
fixture picks the pins): our error at most 2x Julia's.
"""

import pytest

import batchode
from batchode.systems.examples import lorenz
from julia_reference import JuliaReference

IMPLICIT = JuliaReference().methods_of("implicit", "dirk", "rosenbrock", "firk")
# Adaptive pins for the methods whose error estimate is an embedded pair as in
# Julia. Julia estimates ImplicitEuler's and Trapezoid's (and so SDIRK22's,
# whose constructor returns a Trapezoid) error from step history instead.
# radau_iia_5 has RADAU5's filtered estimate, as Julia's RadauIIA5 (without
# its refinement after a rejection); at the pin (tol 1e-2, about 17 steps)
# our error with the default PI controller is 1.1x Julia's. With the
# Gustafsson controller (Julia uses its predictive controller for RadauIIA5,
# whose safety factor also follows the Newton iteration count) it is 3.7x:
# ours takes 10 steps there, and at tol 1e-3 and 1e-4 it is within 1x.
ADAPTIVE = ["kvaerno3", "kvaerno5", "l_stable_sdirk_4", "ros3p", "rodas3p", "radau_iia_5"]


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
    assert result.n_accepted.max() < 2000
