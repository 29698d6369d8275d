"""Classical low-order explicit Runge-Kutta methods.

* ``euler``: the explicit Euler method, L. Euler, *Institutionum calculi
  integralis*, Vol. I, 1768, Sect. II, Ch. VII.
* ``heun-21``: Heun's second-order method (the explicit trapezoidal
  rule), K. Heun, "Neue Methoden zur approximativen Integration der
  Differentialgleichungen einer unabhangigen Veranderlichen", *Zeitschrift
  fur Mathematik und Physik* 45 (1900) 23-38.  The embedded first-order
  solution is the Euler step already contained in the first stage,
  ``b_hat = (1, 0)``, as in the Heun tableau of DifferentialEquations.jl.
* ``ralston-33``: A. Ralston, "Runge-Kutta methods with minimum error
  bounds", *Mathematics of Computation* 16 (1962) 431-437: the
  three-stage third-order method whose truncation-error bound is
  minimal (c = 0, 1/2, 3/4; b = 2/9, 1/3, 4/9).  No standard embedded
  pair exists within its three stages (any second-order b_hat with
  these nodes is a free one-parameter choice); the standard pair built
  on it adds a fourth FSAL stage and is ``bogacki-shampine-32``.
* ``classical-rk4``: W. Kutta, "Beitrag zur naherungsweisen Integration
  totaler Differentialgleichungen", *Zeitschrift fur Mathematik und
  Physik* 46 (1901) 435-453: the "classical" fourth-order method
  (c = 0, 1/2, 1/2, 1; b = 1/6, 1/3, 1/3, 1/6), without an embedded pair.
  It adapts its step with the residual estimate of L. F. Shampine,
  "Solving ODEs and DDEs with residual control", *Applied Numerical
  Mathematics* 52 (2005) 113-127, as DifferentialEquations.jl's ``RK4()``
  does: the residual of the cubic Hermite interpolant over the step,
  scaled by the step, is sampled at the two Gauss-Legendre points
  1/2 -+ sqrt(3)/6 of the step, and the estimate is 2.1342 times the larger
  of the two in the weighted RMS norm.  The nodes and the factor 2.1342
  are those of OrdinaryDiffEq.jl's RK4 step
  (``lib/OrdinaryDiffEqLowOrderRK/src/fixed_timestep_perform_step.jl``).
  The estimate is O(dt^4) (the interpolant's derivative is off by O(dt^3))
  while the step's local error is O(dt^5), so the estimate is the
  conservative one of a 4(3) pair, matching Julia's PI exponents for
  order 4.
"""

import math

from batchode.algorithms.tableaus.butcher import ButcherTableau, ResidualEstimate

__all__ = ["CLASSICAL_RK4", "EULER", "HEUN_21", "RALSTON_33", "SHAMPINE_RK4_RESIDUAL"]

#: Shampine's (2005) residual estimate as OrdinaryDiffEq.jl applies it to RK4.
SHAMPINE_RK4_RESIDUAL = ResidualEstimate(
    nodes=(0.5 - math.sqrt(3.0) / 6.0, 0.5 + math.sqrt(3.0) / 6.0),
    scale="2.1342",
    citation="L. F. Shampine, Appl. Numer. Math. 52 (2005) 113-127; constants of OrdinaryDiffEq.jl's RK4",
)

EULER = ButcherTableau(
    name="euler",
    a=[[0]],
    b=[1],
    c=[0],
    order=1,
    b_hat=None,
    embedded_order=None,
    citation="L. Euler, Institutionum calculi integralis, Vol. I (1768)",
    aliases=("explicit-euler", "forward-euler"),
)

HEUN_21 = ButcherTableau(
    name="heun-21",
    a=[[0, 0], [1, 0]],
    b=["1/2", "1/2"],
    c=[0, 1],
    order=2,
    b_hat=[1, 0],
    embedded_order=1,
    citation="K. Heun, Z. Math. Phys. 45 (1900) 23-38",
    aliases=("heun",),
)

RALSTON_33 = ButcherTableau(
    name="ralston-33",
    a=[
        [0, 0, 0],
        ["1/2", 0, 0],
        [0, "3/4", 0],
    ],
    b=["2/9", "1/3", "4/9"],
    c=[0, "1/2", "3/4"],
    order=3,
    b_hat=None,
    embedded_order=None,
    citation="A. Ralston, Math. Comp. 16 (1962) 431-437",
    aliases=("ralston3",),
)

CLASSICAL_RK4 = ButcherTableau(
    name="classical-rk4",
    a=[
        [0, 0, 0, 0],
        ["1/2", 0, 0, 0],
        [0, "1/2", 0, 0],
        [0, 0, 1, 0],
    ],
    b=["1/6", "1/3", "1/3", "1/6"],
    c=[0, "1/2", "1/2", 1],
    order=4,
    b_hat=None,
    embedded_order=None,
    citation="W. Kutta, Z. Math. Phys. 46 (1901) 435-453",
    aliases=("rk4",),
    residual_estimate=SHAMPINE_RK4_RESIDUAL,
)
