"""Default controller constants per method, matching DifferentialEquations.jl.

These are the values OrdinaryDiffEq.jl resolves for each solver's default
``PIController`` (``beta1 = 7/(10 p)``, ``beta2 = 2/(5 p)`` for a method of
order ``p``, with per-solver exceptions such as DP8's ``beta2 = 0`` and its
narrower step-ratio limits), as recorded in
``shared/reference/lorenz_julia/julia_controllers.csv``. Methods Julia does
not have fall back to the formula.
"""

from __future__ import annotations

#: method -> (beta1, beta2, qmin, qmax, safety, qsteady_min, qsteady_max)
JULIA_PI_CONSTANTS: dict[str, tuple[float, ...]] = {
    "heun-21": (0.35, 0.2, 0.2, 10.0, 0.9, 1.0, 1.0),
    "bogacki-shampine-32": (7 / 30, 2 / 15, 0.2, 10.0, 0.9, 1.0, 1.0),
    "classical-rk4": (0.175, 0.1, 0.2, 10.0, 0.9, 1.0, 1.0),
    "dormand-prince-54": (0.17, 0.04, 0.2, 10.0, 0.9, 1.0, 1.0),
    "cash-karp-54": (0.14, 0.08, 0.2, 10.0, 0.9, 1.0, 1.0),
    "fehlberg-45": (0.14, 0.08, 0.2, 10.0, 0.9, 1.0, 1.0),
    "dormand-prince-853": (0.125, 0.0, 1 / 3, 6.0, 0.9, 1.0, 1.0),
    "tsit5": (0.14, 0.08, 0.2, 10.0, 0.9, 1.0, 1.0),
    "vern7": (0.1, 2 / 35, 0.2, 10.0, 0.9, 1.0, 1.0),
    # Implicit solvers: Julia widens the steady band to qsteady_max = 1.2.
    "backwards-euler": (0.7, 0.4, 0.2, 10.0, 0.9, 1.0, 1.2),
    "crank-nicolson": (0.35, 0.2, 0.2, 10.0, 0.9, 1.0, 1.2),
    "trapezoidal-dirk": (0.35, 0.2, 0.2, 10.0, 0.9, 1.0, 1.2),
    "sdirk-2-2": (0.35, 0.2, 0.2, 10.0, 0.9, 1.0, 1.2),
    "l-stable-sdirk-4": (0.175, 0.1, 0.2, 10.0, 0.9, 1.0, 1.2),
    "ros3p": (7 / 30, 2 / 15, 0.2, 10.0, 0.9, 1.0, 1.2),
    "rodas3p": (7 / 30, 2 / 15, 0.2, 10.0, 0.9, 1.0, 1.2),
    "rosenbrock23": (0.35, 0.2, 0.2, 10.0, 0.9, 1.0, 1.2),
    "kvaerno3": (7 / 30, 2 / 15, 0.2, 10.0, 0.9, 1.0, 1.2),
    "kvaerno5": (0.14, 0.08, 0.2, 10.0, 0.9, 1.0, 1.2),
}


def default_pi_constants(method: str, order: int) -> dict[str, float]:
    """PI settings for ``method`` of ``order``: Julia's where known, else its formula."""
    beta1, beta2, qmin, qmax, safety, low, high = JULIA_PI_CONSTANTS.get(
        method, (7 / (10 * order), 2 / (5 * order), 0.2, 10.0, 0.9, 1.0, 1.0)
    )
    return dict(beta1=beta1, beta2=beta2, qmin=qmin, qmax=qmax, safety=safety,
                qsteady_min=low, qsteady_max=high)
