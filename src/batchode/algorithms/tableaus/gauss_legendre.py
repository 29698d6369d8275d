"""Gauss-Legendre collocation methods ``gauss-legendre-4`` and ``gauss-legendre-6``.

J. C. Butcher, "Implicit Runge-Kutta processes", *Mathematics of
Computation* 18 (1964) 50-64 (the ``s``-stage method of order ``2s``
collocating at the Gauss-Legendre points); tabulated in E. Hairer and
G. Wanner, *Solving Ordinary Differential Equations II*, 2nd ed.,
Springer (1996), Section IV.5.  The names
count the order, so the one-stage member is ``implicit-midpoint``
(alias ``gauss-legendre-2``).  The methods are fully implicit, of stage
order ``s``, symmetric and symplectic, A-stable with ``|R(iy)| = 1`` on
the imaginary axis, and not L-stable (``R(-inf) = (-1)**s``); they are
not stiffly accurate.

``gauss-legendre-4``: ``c = 1/2 -+ sqrt3/6``,
``a = [[1/4, 1/4 - sqrt3/6], [1/4 + sqrt3/6, 1/4]]``, ``b = (1/2, 1/2)``.

``gauss-legendre-6``: ``c = 1/2 - sqrt15/10, 1/2, 1/2 + sqrt15/10``,
``b = (5/18, 4/9, 5/18)`` and::

    a = [[5/36,              2/9 - sqrt15/15, 5/36 - sqrt15/30],
         [5/36 + sqrt15/24,  2/9,             5/36 - sqrt15/24],
         [5/36 + sqrt15/30,  2/9 + sqrt15/15, 5/36            ]]

Irrational entries are given to 34 significant digits (computed with
sympy).  No embedded formula is stored (``b_hat`` is None): no
standard one exists within the stages (DifferentialEquations.jl's
adaptive ``GaussLegendre`` builds an ad hoc one by interpolating the
``s - 1``-point rule), and the methods are mostly used with fixed steps.
"""

from batchode.algorithms.tableaus.butcher import ButcherTableau

__all__ = ["GAUSS_LEGENDRE_4", "GAUSS_LEGENDRE_6"]

GAUSS_LEGENDRE_4 = ButcherTableau(
    name="gauss-legendre-4",
    a=[
        ["1/4", "-0.03867513459481288225457439025097873"],
        ["0.5386751345948128822545743902509787", "1/4"],
    ],
    b=["1/2", "1/2"],
    c=["0.2113248654051871177454256097490213", "0.7886751345948128822545743902509787"],
    order=4,
    b_hat=None,
    embedded_order=None,
    citation="J. C. Butcher, Math. Comp. 18 (1964) 50-64; "
    "E. Hairer, G. Wanner, Solving ODEs II, 2nd ed. (1996), Sect. IV.5",
    aliases=("gauss4", "gauss-legendre-2-stage"),
)

GAUSS_LEGENDRE_6 = ButcherTableau(
    name="gauss-legendre-6",
    a=[
        [
            "5/36",
            "-0.03597666752493890345639547109660442",
            "0.009789444015308326049580042229475568",
        ],
        ["0.3002631949808645924380249472131555", "2/9", "-0.02248541720308681466024716943537776"],
        ["0.2679883337624694517281977355483022", "0.4804211119693833479008399155410489", "5/36"],
    ],
    b=["5/18", "4/9", "5/18"],
    c=["0.1127016653792583114820734600217600", "1/2", "0.8872983346207416885179265399782400"],
    order=6,
    b_hat=None,
    embedded_order=None,
    citation="J. C. Butcher, Math. Comp. 18 (1964) 50-64; "
    "E. Hairer, G. Wanner, Solving ODEs II, 2nd ed. (1996), Sect. IV.5",
    aliases=("gauss6", "gauss-legendre-3-stage"),
)
