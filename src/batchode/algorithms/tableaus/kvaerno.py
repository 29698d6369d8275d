"""Kvaerno's stiffly accurate ESDIRK pairs ``kvaerno3`` and ``kvaerno5``.

A. Kvaerno, "Singly diagonally implicit Runge-Kutta methods with an
explicit first stage", *BIT Numerical Mathematics* 44(3) (2004)
489-502.  Both methods have an explicit first stage, a constant
diagonal ``gamma`` on the other stages and ``a21 = gamma`` (so
``c2 = 2 gamma`` and stage order 2); both are stiffly accurate and
L-stable, and their embedded solution is itself stiffly accurate: it is
the value of the second-to-last stage (the last stage's ``a`` row
without its diagonal entry), so ``b_hat = a[s-2]`` padded with a zero.
DifferentialEquations.jl's ``Kvaerno3()`` and ``Kvaerno5()`` propagate
``b`` (the higher order) and estimate with ``b_hat`` exactly like this
(their ``btilde`` is ``b_hat - b``; it can be smoothed through ``W^-1``
by the engine, which is not part of the tableau).

``kvaerno3``
    Four stages, order 3, embedded order 2.  ``gamma`` is the root near
    0.4359 of ``6 gamma**3 - 18 gamma**2 + 9 gamma - 1 = 0`` (the same
    L-stability root as Alexander's SDIRK3) and, in Kvaerno's closed
    form,

        a31 = (-4 gamma**2 + 6 gamma - 1) / (4 gamma)
        a32 = (1 - 2 gamma) / (4 gamma)
        a41 = (6 gamma - 1) / (12 gamma)
        a42 = -1 / ((24 gamma - 12) gamma)
        a43 = (-6 gamma**2 + 6 gamma - 1) / (6 gamma - 3)

    (``c3 = c4 = 1``).  The coefficients below are these expressions
    evaluated with sympy at the exact root, to 34 digits.  Julia's
    ``Kvaerno3Tableau`` (and diffrax) use ``gamma = 0.4358665215`` and
    15-digit values derived from it, which differ from these by up to
    ~2e-10; with the exact root the order conditions hold to rounding
    and ``R(-inf) = 0`` exactly.

``kvaerno5``
    Seven stages, order 5, embedded order 4, ``gamma = 0.26``.  The
    coefficients are the 17-digit decimals published by Kvaerno and
    used verbatim by Julia's ``Kvaerno5Tableau`` and diffrax
    (``a62 = a72 = 0``); the nodes are the exact decimal row sums
    (``c6 = 0.99999999999999998`` as published, rounded to 1).
"""

from batchode.algorithms.tableaus.butcher import ButcherTableau

__all__ = ["KVAERNO3", "KVAERNO5"]

_G3 = "0.4358665215084589994160194511935568"
_ROW3 = ["0.4905633884217805706284679584665447", "0.07357009006976042995551259033989847", _G3, 0]
_ROW4 = [
    "0.3088099699767465233481624698867005",
    "1.490563388421780570628467958466545",
    "-1.235239879906986093392649879546802",
    _G3,
]

KVAERNO3 = ButcherTableau(
    name="kvaerno3",
    a=[
        [0, 0, 0, 0],
        [_G3, _G3, 0, 0],
        _ROW3,
        _ROW4,
    ],
    b=_ROW4,
    c=[0, "0.8717330430169179988320389023871137", 1, 1],
    order=3,
    b_hat=_ROW3,
    embedded_order=2,
    citation="A. Kvaerno, BIT 44(3) (2004) 489-502 (4-stage order-3 method)",
    aliases=("kvaerno-3",),
)

_G5 = "0.26"
_ROW6 = [
    "0.13855640231268224", 0, "-0.04245337201752043", "0.02446657898003141",
    "0.61943039072480676", _G5, 0,
]
_ROW7 = [
    "0.13659751177640291", 0, "-0.05496908796538376", "-0.04118626728321046",
    "0.62993304899016403", "0.06962479448202728", _G5,
]

KVAERNO5 = ButcherTableau(
    name="kvaerno5",
    a=[
        [0, 0, 0, 0, 0, 0, 0],
        [_G5, _G5, 0, 0, 0, 0, 0],
        ["0.13", "0.84033320996790809", _G5, 0, 0, 0, 0],
        ["0.22371961478320505", "0.47675532319799699", "-0.06470895363112615", _G5, 0, 0, 0],
        [
            "0.16648564323248321", "0.10450018841591720", "0.03631482272098715",
            "-0.13090704451073998", _G5, 0, 0,
        ],
        _ROW6,
        _ROW7,
    ],
    b=_ROW7,
    c=[0, "0.52", "1.23033320996790809", "0.89576598435007589", "0.43639360985864758", 1, 1],
    order=5,
    b_hat=_ROW6,
    embedded_order=4,
    citation="A. Kvaerno, BIT 44(3) (2004) 489-502 (7-stage order-5 method)",
    aliases=("kvaerno-5",),
)
