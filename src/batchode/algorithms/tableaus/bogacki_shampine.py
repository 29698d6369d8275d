"""The Bogacki-Shampine 3(2) pair.

P. Bogacki and L. F. Shampine, "A 3(2) pair of Runge-Kutta formulas",
*Applied Mathematics Letters* 2(4) (1989) 321-325, the coefficient
tableau of the 3(2) pair given in the paper (the same pair is MATLAB's
``ode23``, scipy's ``RK23`` and DifferentialEquations.jl's ``BS3``).

Four stages, first same as last: the first three stages are Ralston's
third-order method, whose result is propagated (order 3); the fourth
stage evaluates the derivative at the new solution and, together with
the other three, gives the second-order embedded solution used only for
the error estimate.
"""

from batchode.algorithms.tableaus.butcher import ButcherTableau

__all__ = ["BOGACKI_SHAMPINE_32"]

BOGACKI_SHAMPINE_32 = ButcherTableau(
    name="bogacki-shampine-32",
    a=[
        [0, 0, 0, 0],
        ["1/2", 0, 0, 0],
        [0, "3/4", 0, 0],
        ["2/9", "1/3", "4/9", 0],
    ],
    b=["2/9", "1/3", "4/9", 0],
    c=[0, "1/2", "3/4", 1],
    order=3,
    b_hat=["7/24", "1/4", "1/3", "1/8"],
    embedded_order=2,
    citation="P. Bogacki, L. F. Shampine, Appl. Math. Lett. 2(4) (1989) 321-325",
    aliases=("bs3", "bs23", "rk23"),
)
