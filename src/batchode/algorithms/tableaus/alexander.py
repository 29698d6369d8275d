"""Alexander's L-stable SDIRK methods of orders 2 and 3.

Both from R. Alexander, "Diagonally implicit Runge-Kutta methods for
stiff O.D.E.'s", *SIAM Journal on Numerical Analysis* 14(6) (1977)
1006-1021; both are discussed in C. A. Kennedy and M. H. Carpenter,
"Diagonally implicit Runge-Kutta methods for ordinary differential
equations. A review", NASA/TM-2016-219173 (2016).  Both are stiffly
accurate (the last row of ``a`` is ``b``), L-stable, of stage order 1,
and every stage is implicit (no explicit first stage).  Irrational
coefficients are given to 34 significant digits, computed with sympy
from the closed forms below.

``sdirk-2-2``
    Two stages, order 2, ``gamma = 1 - 1/sqrt(2)``::

        gamma | gamma
          1   | 1 - gamma   gamma
        ------+-------------------
              | 1 - gamma   gamma

    Embedded order 1: ``b_hat = (0, 1)``, i.e. ``y0 + h f(t0 + h, y1)``,
    so ``b - b_hat = (1 - gamma)(1, -1)``.  Alexander gives no embedded
    formula; this is the choice of the public implementation diffrax
    (``Alexander2``, P. Kidger), used here so the method can adapt.

    Julia.  The reference list pairs this name with OrdinaryDiffEq.jl's
    ``SDIRK22()``.  In every version of OrdinaryDiffEq.jl we inspected,
    the ``SDIRK22(...)`` keyword constructor returns a ``Trapezoid``
    object (its ``SDIRK22Tableau(a = 1 - 1/sqrt(2), ...)`` is never
    used), so the Julia reference results for ``sdirk-2-2`` are those of
    the trapezoidal rule with its divided-difference error estimate
    (see :mod:`batchode.algorithms.tableaus.implicit_classical`), not of
    this method.  Comparisons of ``sdirk-2-2`` against that reference
    should allow for this.

``l-stable-dirk-3``
    Three stages, order 3, with ``gamma`` the root near 0.4359 of
    ``6 gamma**3 - 18 gamma**2 + 9 gamma - 1 = 0`` (the L-stability
    condition)::

        gamma           | gamma
        (1 + gamma)/2   | (1 - gamma)/2   gamma
          1             | b1              b2     gamma
        ----------------+-----------------------------
                        | b1              b2     gamma

    with ``b1 = -(6 gamma**2 - 16 gamma + 1)/4`` and
    ``b2 = (6 gamma**2 - 20 gamma + 5)/4``.  No embedded formula is
    stored: Alexander gives none and we know of no standard one (a
    second-order ``b_hat`` on these nodes is a free one-parameter
    choice), so ``b_hat`` is None and the method is fixed-step only until
    one is chosen.  The name follows MOOSE's ``LStableDirk3``, which is
    this method.
"""

from batchode.algorithms.tableaus.butcher import ButcherTableau

__all__ = ["L_STABLE_DIRK_3", "SDIRK_2_2"]

# gamma = 1 - 1/sqrt(2) and 1 - gamma = 1/sqrt(2)
_G2 = "0.2928932188134524755991556378951510"
_ONE_MINUS_G2 = "0.7071067811865475244008443621048490"

SDIRK_2_2 = ButcherTableau(
    name="sdirk-2-2",
    a=[[_G2, 0], [_ONE_MINUS_G2, _G2]],
    b=[_ONE_MINUS_G2, _G2],
    c=[_G2, 1],
    order=2,
    b_hat=[0, 1],
    embedded_order=1,
    citation="R. Alexander, SIAM J. Numer. Anal. 14(6) (1977) 1006-1021 (2-stage, order 2)",
    aliases=("alexander2", "l-stable-dirk-2", "SDIRK22"),
)

# gamma: root of 6 g**3 - 18 g**2 + 9 g - 1 in (0.4, 0.5)
_G3 = "0.4358665215084589994160194511935568"
_B3 = ("1.208496649176010070336477684063323", "-0.6443631706844690697524971352568800", _G3)

L_STABLE_DIRK_3 = ButcherTableau(
    name="l-stable-dirk-3",
    a=[
        [_G3, 0, 0],
        ["0.2820667392457705002919902744032216", _G3, 0],
        list(_B3),
    ],
    b=list(_B3),
    c=[_G3, "0.7179332607542294997080097255967784", 1],
    order=3,
    b_hat=None,
    embedded_order=None,
    citation="R. Alexander, SIAM J. Numer. Anal. 14(6) (1977) 1006-1021 (3-stage, order 3)",
    aliases=("alexander3", "sdirk-3-3"),
)
