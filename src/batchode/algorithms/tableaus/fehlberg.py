"""The Runge-Kutta-Fehlberg 4(5) pair (RKF45).

E. Fehlberg, "Low-order classical Runge-Kutta formulas with stepsize
control and their application to some heat transfer problems", NASA
Technical Report R-315 (1969): the six-stage RK4(5) pair (formula 2,
with c = 0, 1/4, 3/8, 12/13, 1, 1/2).

Which solution is propagated.  Fehlberg designed the pair to propagate
the order-4 solution and use the order-5 one only for the error
estimate.  This tableau instead follows DifferentialEquations.jl, which
the project compares against: its ``constructRKF5`` tableau (package
DiffEqDevTools, now OrdinaryDiffEqExplicitTableaus) stores the order-5
weights as the propagated solution (order 5) and the order-4 weights as
the embedded ones (``adaptiveorder = 4``), i.e. local extrapolation.
So here ``b`` are the order-5 weights, ``order == 5``, ``b_hat`` the
order-4 weights and ``embedded_order == 4``.  The error estimate
``b - b_hat`` is the same either way; only the accepted solution
differs.  The method is not FSAL.
"""

from batchode.algorithms.tableaus.butcher import ButcherTableau

__all__ = ["FEHLBERG_45"]

FEHLBERG_45 = ButcherTableau(
    name="fehlberg-45",
    a=[
        [0, 0, 0, 0, 0, 0],
        ["1/4", 0, 0, 0, 0, 0],
        ["3/32", "9/32", 0, 0, 0, 0],
        ["1932/2197", "-7200/2197", "7296/2197", 0, 0, 0],
        ["439/216", -8, "3680/513", "-845/4104", 0, 0],
        ["-8/27", 2, "-3544/2565", "1859/4104", "-11/40", 0],
    ],
    b=["16/135", 0, "6656/12825", "28561/56430", "-9/50", "2/55"],
    c=[0, "1/4", "3/8", "12/13", 1, "1/2"],
    order=5,
    b_hat=["25/216", 0, "1408/2565", "2197/4104", "-1/5", 0],
    embedded_order=4,
    citation="E. Fehlberg, NASA Technical Report R-315 (1969)",
    aliases=("rkf45", "fehlberg", "rkf5"),
)
