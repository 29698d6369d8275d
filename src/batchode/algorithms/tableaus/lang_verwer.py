"""Lang and Verwer's ROS3P (``ros3p``).

J. Lang and J. G. Verwer, "ROS3P - An accurate third-order Rosenbrock
solver designed for parabolic problems", *BIT Numerical Mathematics*
41(4) (2001) 731-738.  Three stages, order 3 (also for the stiff
Prothero-Robinson / parabolic case it was designed for), embedded
order 2, A-stable with ``gamma = 1/2 + sqrt3/6`` (not L-stable).

Standard form (exact; irrational entries to 34 digits)::

    alpha = [[0, 0, 0],      gamma = [[g,  0,                 0],
             [1, 0, 0],               [-1, g,                 0],
             [1, 0, 0]]               [-g, -(1/2 + sqrt3/3),  g]]

    b = (2/3, 0, 1/3),   b_hat = (1/3, 1/3, 1/3),   g = 1/2 + sqrt3/6

so ``c = (0, 1, 1)`` and ``d = (g, g - 1, -(1/2 + sqrt3/3))``.

Julia.  DifferentialEquations.jl's ``ROS3PTableau`` stores the
transformed coefficients: ``a21 = a31 = 1/g``, ``a32 = 0``,
``C21 = -1/g**2``, ``C31``/``C32`` and the weights from closed forms in
``1/g``, ``m_hat = (2.113248654051871, 1, 0.4226497308103742)`` (which
is ``(5/(3g), 1, 1/(3g))``) and ``d = (0.7886751345948129,
-0.2113248654051871, -1.077350269189626)``; it propagates ``b``.  The
tests check that :attr:`~RosenbrockTableau.A`, ``C``, ``m``, ``m_hat``
and ``d`` derived from the data below reproduce those values.
"""

from batchode.algorithms.tableaus.rosenbrock import RosenbrockTableau

__all__ = ["ROS3P"]

_G = "0.7886751345948128822545743902509787"  # 1/2 + sqrt3/6

ROS3P = RosenbrockTableau(
    name="ros3p",
    alpha=[[0, 0, 0], [1, 0, 0], [1, 0, 0]],
    gamma=[
        [_G, 0, 0],
        [-1, _G, 0],
        ["-" + _G, "-1.077350269189625764509148780501957", _G],
    ],
    b=["2/3", 0, "1/3"],
    order=3,
    b_hat=["1/3", "1/3", "1/3"],
    embedded_order=2,
    citation="J. Lang, J. G. Verwer, BIT 41(4) (2001) 731-738",
    aliases=("ros-3p",),
)
