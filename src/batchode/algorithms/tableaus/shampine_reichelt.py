"""The Rosenbrock-W pair of MATLAB's ode23s (``rosenbrock23``).

L. F. Shampine and M. W. Reichelt, "The MATLAB ODE Suite", *SIAM
Journal on Scientific Computing* 18(1) (1997) 1-22, Section 3 (the
modified Rosenbrock formula of ode23s).  DifferentialEquations.jl's
``Rosenbrock23()`` implements the same formulas (registered here under
the alias ``rosenbrock23_sciml``, the name in the Julia reference list;
also ``ode23s``).

The published form.  With ``d = 1/(2 + sqrt2)``, ``e32 = 6 + sqrt2``,
``W = I - h d J`` and ``T ~ f_t(t0, y0)``::

    F0 = f(t0, y0)
    k1 = W^-1 (F0 + h d T)
    F1 = f(t0 + h/2, y0 + h/2 k1)
    k2 = W^-1 (F1 - k1) + k1
    y1 = y0 + h k2                                   (order 2, propagated)
    F2 = f(t0 + h, y1)
    k3 = W^-1 (F2 - e32 (k2 - F1) - 2 (k1 - F0) + h d T)
    err = h/6 (k1 - 2 k2 + k3)

and ``y0 + h/6 (k1 + 4 k2 + k3)`` is the third-order companion whose
difference from ``y1`` is ``err``.

The standard form stored here.  Substituting ``K_i = h k_i`` and using
the stage equations to eliminate ``F1 - k2`` and ``k1 - F0`` from the
third stage gives the three-stage Rosenbrock method of
:mod:`~batchode.algorithms.tableaus.rosenbrock` with::

    alpha = [[0,   0, 0],         gamma = [[d,       0,          0],
             [1/2, 0, 0],                  [-d,      d,          0],
             [0,   1, 0]]                  [3 - sqrt2, 2 sqrt2 - 5, d]]

(``d (e32 - 2) = 3 - sqrt2``, ``-d e32 = 2 sqrt2 - 5``), so
``c = (0, 1/2, 1)`` and ``d = (d, 0, -d)`` (the third stage's
``-2 (k1 - F0) + h d T`` carries a net ``-h d T``), with

    b = (0, 1, 0)            order 2 (propagated, as in ode23s and Julia)
    b_hat = (1/6, 2/3, 1/6)  order 3 (the error estimate's companion)

so ``error_weights = b - b_hat = -(1/6, -1/3, 1/6)``, i.e. ``-err``.
The embedded order exceeds the propagated one: the pair estimates the
error of the order-2 solution with an order-3 one (no local
extrapolation).  The third stage evaluates ``f(t0 + h, y1)``
(``alpha[2] == b``), which is the next step's ``F0`` (``is_fsal``).

W-method.  ``b`` has order 2 for any matrix ``W`` in place of ``J``
(its W-order conditions ``b . c = 1/2`` and ``b . d = 0`` hold), which
is why ode23s may reuse Jacobians; the order-3 estimate needs the exact
Jacobian.  The tests check both, and check this standard form against
a direct transcription of the published formulas.
"""

from batchode.algorithms.tableaus.rosenbrock import RosenbrockTableau

__all__ = ["ROSENBROCK23"]

_D = "0.2928932188134524755991556378951510"  # 1/(2 + sqrt2) = 1 - 1/sqrt2

ROSENBROCK23 = RosenbrockTableau(
    name="rosenbrock23",
    alpha=[[0, 0, 0], ["1/2", 0, 0], [0, 1, 0]],
    gamma=[
        [_D, 0, 0],
        ["-" + _D, _D, 0],
        ["1.585786437626904951198311275790302", "-2.171572875253809902396622551580604", _D],
    ],
    b=[0, 1, 0],
    order=2,
    b_hat=["1/6", "2/3", "1/6"],
    embedded_order=3,
    citation="L. F. Shampine, M. W. Reichelt, SIAM J. Sci. Comput. 18(1) (1997) 1-22 (ode23s)",
    aliases=("rosenbrock23-sciml", "ode23s"),
)
