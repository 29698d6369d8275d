"""Hairer and Wanner's RODAS4 (``rodas4``).

E. Hairer and G. Wanner, *Solving Ordinary Differential Equations II*,
2nd ed., Springer (1996), Section VI.4 (the Rosenbrock method RODAS of
order 4(3) for stiff ODEs and index-1 DAEs), as implemented in their
Fortran code ``rodas.f`` (coefficient set ``METH = 1``, built from
``gamma = 1/4``, ``c2 = 0.386``, ``c3 = 0.21``, ``c4 = 0.63`` and the
free parameters ``BET2P = 0.0317``, ``BET3P = 0.0635``,
``BET4P = 0.3438``).  DifferentialEquations.jl's ``Rodas4Tableau``
holds the same 16-digit constants.

Six stages, constant ``gamma = 1/4``.  The propagated solution
``y1 = (argument of stage 6) + u6`` has order 4 and the embedded one,
the argument of stage 6 itself, order 3, so the error estimate is just
the last increment ``u6`` of the transformed form, whose weights are
``m = (A[5, 0..4], 1)`` and ``m_hat = (A[5, 0..4], 0)``.  Both
solutions are stiffly accurate in the Rosenbrock sense (HW II, Section
VI.4): ``b = alpha[5] + gamma[5]`` and ``b_hat = alpha[4] + gamma[4]``,
with ``c4 = c5 = 1`` (:attr:`~RosenbrockTableau.is_stiffly_accurate`).

The data below are the sources' transformed coefficients ``A``, ``C``
and ``gamma``; :meth:`RosenbrockTableau.from_transformed` converts them
exactly to the standard form (``alpha``, ``gamma``, ``b``, ``b_hat``),
which the tests check for orders 4(3) and against the sources' ``c``,
``d``, ``A`` and ``C`` (to the ~1e-15 the 16-digit data allow: ``c[4]``
comes out as ``1 - 9e-16``, and the derived ``m_error`` is ``e6`` up to
entries of ~1e-15).

Dense output: ``rodas.f``'s interpolant of order 3 (subroutine
``CONTRO``, coefficients ``D21..D25`` and ``D31..D35`` of ``RODCOE``,
``METH = 1``; Julia's ``h21..h35``), in the increments ``u_i``::

    u(theta) = (1 - theta) y0 + theta (y1 + (1 - theta) (H[0] . u + theta H[1] . u)).

The tests check its order with the continuous Rosenbrock order conditions
(all of order 3 hold, some of order 4 fail) and on steps of problems with
exact solutions.
"""

from batchode.algorithms.tableaus.rosenbrock import RosenbrockTableau
from batchode.algorithms.tableaus.rosenbrock_dense_output import RosenbrockDenseOutput

__all__ = ["RODAS4"]

_A6 = [
    "1.221224509226641", "6.019134481288629", "12.53708332932087", "-0.6878860361058950", "1",
]

RODAS4 = RosenbrockTableau.from_transformed(
    name="rodas4",
    gamma_diag="0.25",
    A=[
        [],
        ["1.544"],
        ["0.9466785280815826", "0.2557011698983284"],
        ["3.314825187068521", "2.896124015972201", "0.9986419139977817"],
        ["1.221224509226641", "6.019134481288629", "12.53708332932087", "-0.6878860361058950"],
        _A6,
    ],
    C=[
        [],
        ["-5.6688"],
        ["-2.430093356833875", "-0.2063599157091915"],
        ["-0.1073529058151375", "-9.594562251023355", "-20.47028614809616"],
        ["7.496443313967647", "-10.24680431464352", "-33.99990352819905", "11.70890893206160"],
        [
            "8.083246795921522", "-7.981132988064893", "-31.52159432874371",
            "16.31930543123136", "-6.058818238834054",
        ],
    ],
    m=_A6 + ["1"],
    m_hat=_A6 + ["0"],
    order=4,
    embedded_order=3,
    citation="E. Hairer, G. Wanner, Solving ODEs II, 2nd ed. (1996), Sect. VI.4; rodas.f (METH=1)",
    aliases=("rodas-4",),
    dense_output=RosenbrockDenseOutput(
        coefficients=[
            [
                "10.12623508344586", "-7.487995877610167", "-34.80091861555747",
                "-7.992771707568823", "1.025137723295662", 0,
            ],
            [
                "-0.6762803392801253", "6.087714651680015", "16.43084320892478",
                "24.76722511418386", "-6.594389125716872", 0,
            ],
        ],
        order=3,
        citation="E. Hairer, G. Wanner, rodas.f (CONTRO; RODCOE METH=1, D21..D35)",
    ),
)
