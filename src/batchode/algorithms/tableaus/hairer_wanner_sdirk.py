"""Hairer and Wanner's L-stable SDIRK4 (``l-stable-sdirk-4``).

E. Hairer and G. Wanner, *Solving Ordinary Differential Equations II:
Stiff and Differential-Algebraic Problems*, 2nd ed., Springer (1996),
Section IV.6, Table 6.5, the first method (``gamma = 1/4``) of the code
SDIRK4: five stages, all implicit with diagonal ``1/4``, order 4,
stiffly accurate (the last row of ``a`` is ``b``), L-stable, stage
order 1, with an embedded third-order solution::

    b_hat = (59/48, -17/96, 225/32, -85/12, 0).

All coefficients are rational and exact.

Julia.  This is DifferentialEquations.jl's ``Hairer4()``: its
``Hairer4Tableau`` has the same ``a`` (``c = 1/4, 3/4, 11/20, 1/2, 1``),
propagates the stiffly accurate order-4 solution and forms the error
from ``bhat = (59/48, -17/96, 225/32, -85/12, 0)``, i.e. the same
``b_hat`` as here (``Hairer42()`` is the table's second method,
``gamma = 4/15``).  Julia optionally passes the difference through
``W^-1`` (``smooth_est``), an engine choice outside the tableau.
"""

from batchode.algorithms.tableaus.butcher import ButcherTableau

__all__ = ["L_STABLE_SDIRK_4"]

_B = ["25/24", "-49/48", "125/16", "-85/12", "1/4"]

L_STABLE_SDIRK_4 = ButcherTableau(
    name="l-stable-sdirk-4",
    a=[
        ["1/4", 0, 0, 0, 0],
        ["1/2", "1/4", 0, 0, 0],
        ["17/50", "-1/25", "1/4", 0, 0],
        ["371/1360", "-137/2720", "15/544", "1/4", 0],
        _B,
    ],
    b=_B,
    c=["1/4", "3/4", "11/20", "1/2", 1],
    order=4,
    b_hat=["59/48", "-17/96", "225/32", "-85/12", 0],
    embedded_order=3,
    citation="E. Hairer, G. Wanner, Solving ODEs II, 2nd ed. (1996), Sect. IV.6, Table 6.5",
    aliases=("hairer4", "sdirk4"),
)
