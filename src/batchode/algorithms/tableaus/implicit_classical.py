"""The classical one- and two-stage implicit Runge-Kutta methods.

``backwards-euler``
    The implicit (backward) Euler method, ``a = [[1]]``, ``b = [1]``,
    ``c = [1]``: order 1, L-stable, stiffly accurate, stage order 1.
    L. Euler, *Institutionum calculi integralis*, Vol. I (1768); as a
    Runge-Kutta method see E. Hairer and G. Wanner, *Solving Ordinary
    Differential Equations II*, 2nd ed., Springer (1996), Section IV.3
    (it is also the one-stage Radau IIA method).

    Error estimate.  With one stage no embedded formula exists (a
    first-order ``b_hat`` would have to equal ``b``), so ``b_hat`` is
    None.  As DifferentialEquations.jl's ``ImplicitEuler()``, the method
    adapts with a :class:`~batchode.algorithms.tableaus.butcher.HistoryEstimate`
    of order 2 (:data:`IMPLICIT_EULER_HISTORY`): ``7/12 * dt**2`` times
    the second divided difference of the last two accepted solutions and
    the new one.  That difference is ``y''/2`` somewhere in their span, so
    the estimate is 7/12 of the local error's leading term
    ``dt**2/2 * y''`` (7/12 is described there as SPICE's default
    correction factor: divided differences overestimate the error). The
    first step, which has no history, reports an error of size 1
    (Julia's ``EEst = 1``).

``implicit-midpoint``
    The one-stage Gauss method, ``a = [[1/2]]``, ``b = [1]``,
    ``c = [1/2]``: order 2, A-stable with ``|R(iy)| = 1`` (symmetric,
    symplectic), not L-stable (``R(-inf) = -1``), stage order 1.  Hairer
    and Wanner II, Section IV.5 (Gauss methods).  No embedded formula;
    DifferentialEquations.jl's ``ImplicitMidpoint()`` is not adaptive.

``crank-nicolson`` and ``trapezoidal-dirk``
    The trapezoidal rule written as a two-stage ESDIRK (the two-stage
    Lobatto IIIA method), ``a = [[0, 0], [1/2, 1/2]]``,
    ``b = [1/2, 1/2]``, ``c = [0, 1]``: order 2, A-stable with
    ``|R(iy)| = 1``, not L-stable (``R(-inf) = -1``), stiffly accurate,
    explicit first stage, stage order 2.  J. Crank and P. Nicolson,
    "A practical method for numerical evaluation of solutions of partial
    differential equations of the heat-conduction type", *Proc. Cambridge
    Philos. Soc.* 43 (1947) 50-67.  Both names are compared with
    DifferentialEquations.jl's ``Trapezoid()``; they are two tableau
    objects with identical coefficients so that results can be reported
    under either name.

    Error estimate.  As DifferentialEquations.jl's ``Trapezoid()``, a
    :class:`~batchode.algorithms.tableaus.butcher.HistoryEstimate` of
    order 3 (:data:`TRAPEZOID_HISTORY`): ``7/12 * dt**3 / 2`` times the
    third divided difference of the last three accepted solutions and
    the new one, which is ``y'''/6`` somewhere in their span, so the
    estimate is 7/12 of the local error's leading term
    ``dt**3/12 * y'''``; the first two steps report an error of size 1.
    This replaces our earlier ``b_hat = (1, 0)`` (explicit Euler from the
    explicit first stage), an estimate of the wrong order (``dt**2`` for
    a ``dt**3`` local error) that took about three times Julia's steps
    at a given tolerance on the Lorenz reference and is not damped on
    stiff components.  Both names carry the same estimate: they stay one
    method under two names.

Julia's ``SDIRK22()`` (paired with ``sdirk-2-2`` in the reference
methods list) is, in every OrdinaryDiffEq.jl version we inspected, a
constructor that returns a ``Trapezoid`` object; see
:mod:`batchode.algorithms.tableaus.alexander`.
"""

from batchode.algorithms.tableaus.butcher import ButcherTableau, HistoryEstimate

__all__ = [
    "BACKWARDS_EULER", "CRANK_NICOLSON", "IMPLICIT_EULER_HISTORY", "IMPLICIT_MIDPOINT", "TRAPEZOIDAL_DIRK",
    "TRAPEZOID_HISTORY",
]

_JULIA = "OrdinaryDiffEq.jl, lib/OrdinaryDiffEqSDIRK/src/sdirk_perform_step.jl"

#: ImplicitEuler's estimate in OrdinaryDiffEq.jl: 7/12 dt^2 times the second divided difference.
IMPLICIT_EULER_HISTORY = HistoryEstimate(
    order=2, scale="7/12", citation=f"{_JULIA} (perform_step! of ImplicitEuler; SPICE's correction factor 7/12)"
)

#: Trapezoid's estimate in OrdinaryDiffEq.jl: 7/12 dt^3 / 2 times the third divided difference.
TRAPEZOID_HISTORY = HistoryEstimate(
    order=3, scale="7/24", citation=f"{_JULIA} (perform_step! of Trapezoid; SPICE's correction factor 7/12)"
)

BACKWARDS_EULER = ButcherTableau(
    name="backwards-euler",
    a=[[1]],
    b=[1],
    c=[1],
    order=1,
    b_hat=None,
    embedded_order=None,
    citation="L. Euler, Institutionum calculi integralis, Vol. I (1768); "
    "E. Hairer, G. Wanner, Solving ODEs II, 2nd ed. (1996), Sect. IV.3",
    aliases=("implicit-euler", "backward-euler", "ImplicitEuler"),
    history_estimate=IMPLICIT_EULER_HISTORY,
)

IMPLICIT_MIDPOINT = ButcherTableau(
    name="implicit-midpoint",
    a=[["1/2"]],
    b=[1],
    c=["1/2"],
    order=2,
    b_hat=None,
    embedded_order=None,
    citation="E. Hairer, G. Wanner, Solving ODEs II, 2nd ed. (1996), Sect. IV.5 (1-stage Gauss)",
    aliases=("ImplicitMidpoint", "gauss-legendre-2"),
)

_TRAPEZOID = dict(
    a=[[0, 0], ["1/2", "1/2"]],
    b=["1/2", "1/2"],
    c=[0, 1],
    order=2,
    b_hat=None,
    embedded_order=None,
    citation="J. Crank, P. Nicolson, Proc. Cambridge Philos. Soc. 43 (1947) 50-67",
    history_estimate=TRAPEZOID_HISTORY,
)

CRANK_NICOLSON = ButcherTableau(name="crank-nicolson", aliases=("cn",), **_TRAPEZOID)

TRAPEZOIDAL_DIRK = ButcherTableau(
    name="trapezoidal-dirk", aliases=("trapezoid", "trapezoidal", "lobatto-iiia-2"), **_TRAPEZOID
)
