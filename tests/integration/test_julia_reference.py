"""float32 accuracy of the explicit methods against DifferentialEquations.jl.

Reference data: ../shared/reference/lorenz_julia (see its README), through
the ``julia`` fixture (tests/conftest.py). At the pin where Julia's own error
against the golden states is above float32 round-off and below 3%, our error
must be within 2x of Julia's.
"""

import pytest

import batchode
from batchode.algorithms import get_tableau
from batchode.systems.examples import lorenz
from julia_reference import JuliaReference

ERK = JuliaReference().methods_of("erk")
# Every method with an error estimate: an embedded pair, or for classical-rk4
# Shampine's residual estimate, as Julia's RK4() adapts it.
ADAPTIVE = [m for m in ERK if get_tableau(m).has_error_estimate]


@pytest.mark.parametrize("method", ERK)
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
    # Work stays bounded: a 1-time-unit Lorenz run at these loose tolerances
    # needs tens of steps, far below 1000, and rejections are a minority.
    assert result.n_accepted.max() < 1000
    assert result.n_rejected.sum() < result.n_accepted.sum()
