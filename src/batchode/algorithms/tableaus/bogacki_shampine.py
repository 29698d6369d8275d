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

Dense output: the interpolant of order 3 that the FSAL stage makes free,
the cubic Hermite interpolant (scipy's ``RK23`` tabulates the same
weights) that matches ``y``, ``y_new`` and the derivatives ``k1 = f(t, y)`` and
``k4 = f(t + h, y_new)`` at both ends::

    u(theta) = y + theta dy + theta (theta - 1) ((1 - 2 theta) dy
               + (theta - 1) h k1 + theta h k4),    dy = h sum_i b_i k_i.

Collecting the terms of each stage gives
``b_i(theta) = b_i (3 theta**2 - 2 theta**3)`` plus
``theta - 2 theta**2 + theta**3`` for the first stage and
``theta**3 - theta**2`` for the fourth, the weights below.  It is of
order 3 because the Hermite interpolant of exact data is accurate to
``O(h**4)`` and ``y_new`` and ``k4`` carry errors of ``O(h**4)``.
"""

from batchode.algorithms.tableaus.butcher import ButcherTableau
from batchode.algorithms.tableaus.dense_output import DenseOutput

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
    dense_output=DenseOutput(
        coefficients=[
            [1, "-4/3", "5/9"],
            [0, 1, "-2/3"],
            [0, "4/3", "-8/9"],
            [0, -1, 1],
        ],
        order=3,
        citation="P. Bogacki, L. F. Shampine, Appl. Math. Lett. 2(4) (1989) 321-325 (cubic Hermite interpolant)",
    ),
)
