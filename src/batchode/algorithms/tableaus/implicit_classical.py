"""The classical one- and two-stage implicit Runge-Kutta methods.

``backwards_euler``
    The implicit (backward) Euler method, ``a = [[1]]``, ``b = [1]``,
    ``c = [1]``: order 1, L-stable, stiffly accurate, stage order 1.
    L. Euler, *Institutionum calculi integralis*, Vol. I (1768); as a
    Runge-Kutta method see E. Hairer and G. Wanner, *Solving Ordinary
    Differential Equations II*, 2nd ed., Springer (1996), Section IV.3
    (it is also the one-stage Radau IIA method).

    Error estimate.  With one stage no embedded formula exists (a
    first-order ``b_hat`` would have to equal ``b``), so ``b_hat`` is
    None.  DifferentialEquations.jl's ``ImplicitEuler()`` adapts with a
    non-embedded estimate: ``7/12 * dt**2`` times the second divided
    difference of the last three accepted solutions (the SPICE-style
    estimate of ``dt**2/2 * y''``), and ``EEst = 1`` on the first step;
    an engine that wants to match it must implement that history-based
    estimate itself.

``implicit_midpoint``
    The one-stage Gauss method, ``a = [[1/2]]``, ``b = [1]``,
    ``c = [1/2]``: order 2, A-stable with ``|R(iy)| = 1`` (symmetric,
    symplectic), not L-stable (``R(-inf) = -1``), stage order 1.  Hairer
    and Wanner II, Section IV.5 (Gauss methods).  No embedded formula;
    DifferentialEquations.jl's ``ImplicitMidpoint()`` is not adaptive.

``crank_nicolson`` and ``trapezoidal_dirk``
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

    Error estimate.  ``b_hat = (1, 0)``: the explicit Euler step
    ``y0 + h f(t0, y0)``, which the first (explicit) stage already
    provides, giving the order-1 estimate ``h/2 (k2 - k1) ~ h**2/2 y''``
    (the analogue of the Heun/Euler pair of ``heun-21``).  This is our
    choice, not Julia's: ``Trapezoid()`` estimates its error from the
    third divided difference of the last four accepted solutions
    (``7/12 * dt**3 / 2`` times it, SPICE style) and returns
    ``EEst = 1`` for the first two steps.  Note that this first-order
    ``b_hat`` is not damped on stiff components (``b - b_hat`` gives
    ``h/2 (k2 - k1)`` with no solve), so an engine may prefer to filter
    it through ``(I - h/2 J)^-1`` as Shampine suggests for TR-BDF2.

Julia's ``SDIRK22()`` (paired with ``sdirk_2_2`` in the reference
methods list) is, in every OrdinaryDiffEq.jl version we inspected, a
constructor that returns a ``Trapezoid`` object; see
:mod:`batchode.algorithms.tableaus.alexander`.
"""

from batchode.algorithms.tableaus.butcher import ButcherTableau

__all__ = ["BACKWARDS_EULER", "CRANK_NICOLSON", "IMPLICIT_MIDPOINT", "TRAPEZOIDAL_DIRK"]

BACKWARDS_EULER = ButcherTableau(
    name="backwards_euler",
    a=[[1]],
    b=[1],
    c=[1],
    order=1,
    b_hat=None,
    embedded_order=None,
    citation="L. Euler, Institutionum calculi integralis, Vol. I (1768); "
    "E. Hairer, G. Wanner, Solving ODEs II, 2nd ed. (1996), Sect. IV.3",
    aliases=("implicit_euler", "backward_euler", "ImplicitEuler"),
)

IMPLICIT_MIDPOINT = ButcherTableau(
    name="implicit_midpoint",
    a=[["1/2"]],
    b=[1],
    c=["1/2"],
    order=2,
    b_hat=None,
    embedded_order=None,
    citation="E. Hairer, G. Wanner, Solving ODEs II, 2nd ed. (1996), Sect. IV.5 (1-stage Gauss)",
    aliases=("ImplicitMidpoint", "gauss_legendre_2"),
)

_TRAPEZOID = dict(
    a=[[0, 0], ["1/2", "1/2"]],
    b=["1/2", "1/2"],
    c=[0, 1],
    order=2,
    b_hat=[1, 0],
    embedded_order=1,
    citation="J. Crank, P. Nicolson, Proc. Cambridge Philos. Soc. 43 (1947) 50-67",
)

CRANK_NICOLSON = ButcherTableau(name="crank_nicolson", aliases=("cn",), **_TRAPEZOID)

TRAPEZOIDAL_DIRK = ButcherTableau(
    name="trapezoidal_dirk", aliases=("trapezoid", "trapezoidal", "lobatto_iiia_2"), **_TRAPEZOID
)
