"""Tsitouras' 5(4) pair (Tsit5).

Ch. Tsitouras, "Runge-Kutta pairs of order 5(4) satisfying only the
first column simplifying assumption", *Computers & Mathematics with
Applications* 62(2) (2011) 770-775, the coefficient table of the new
pair in the paper.  Seven stages, first same as last: the order-5
solution (``b`` = last row of ``a``, ``b_7 = 0``) is propagated and the
order-4 solution (``b_hat_7 = 1/66``) gives the error estimate.  This is
DifferentialEquations.jl's ``Tsit5``.

The paper gives the coefficients as decimals with about 16 significant
digits, which satisfy the row-sum and order conditions only to a few
units in 1e-16 relative to the coefficient size (entries reach ~13),
not exactly; the validation tolerance
(:data:`~batchode.algorithms.tableaus.butcher.CONSISTENCY_RTOL`) and the
order-condition tolerance allow for that (a test rebuilds Tsit5 from
16-digit data).  The values below are DifferentialEquations.jl's
extended-precision expansions of the same coefficients, cut to 30
significant digits; they round to the same float64 values as that
package's 16-digit Float64 tableau, and the order conditions are
re-checked in the tests.

Dense output: the continuous extension of order 4 given in the paper
(and used by DifferentialEquations.jl's ``Tsit5``), whose weights the
paper prints in factored form, e.g.
``b_7(theta) = 2.5 theta**2 (theta - 1)(theta - 0.6)`` and
``b_1(theta) = -1.0530884977290216 theta (theta - 1.3299890189751412)
(theta**2 - 1.4364028541716351 theta + 0.7139816917074209)``.  The
coefficients below are the exact expansions of those products in powers
of ``theta``, taking the printed decimals as exact, cut to 25
significant digits (a test repeats the expansion).  Like the tableau,
they are consistent only to the precision of the printed digits
(``b_1(theta)``'s first coefficient is 1 - 2.6e-17).
"""

from batchode.algorithms.tableaus.butcher import ButcherTableau
from batchode.algorithms.tableaus.dense_output import DenseOutput

__all__ = ["TSIT5"]

_ROW_7 = [
    "0.0964607668180652295181673131651",
    "1/100",
    "0.479889650414499574775249532291",
    "1.37900857410374189319227482186",
    "-3.29006951543608067990104758571",
    "2.32471052409977398241535591840",
    0,
]

TSIT5 = ButcherTableau(
    name="tsit5",
    a=[
        [0, 0, 0, 0, 0, 0, 0],
        ["161/1000", 0, 0, 0, 0, 0, 0],
        [
            "-8.48065549235698854442687425023e-3",
            "0.335480655492356988544426874250",
            0, 0, 0, 0, 0,
        ],
        [
            "2.89715305710549343213043259419",
            "-6.35944848997507484314815991238",
            "4.36229543286958141101772731819",
            0, 0, 0, 0,
        ],
        [
            "5.32586482843925660442887792084",
            "-11.7488835640628278777471703398",
            "7.49553934288983620830460478456",
            "-0.0924950663617552492565020793321",
            0, 0, 0,
        ],
        [
            "5.86145544294642002865925148698",
            "-12.9209693178471092917061186818",
            "8.15936789857615864318040079454",
            "-0.0715849732814009972245305425258",
            "-0.0282690503940683829090030572127",
            0, 0,
        ],
        _ROW_7,
    ],
    b=_ROW_7,
    c=[
        0,
        "161/1000",
        "327/1000",
        "9/10",
        "0.980025540904509685729810286287",
        1,
        1,
    ],
    order=5,
    b_hat=[
        "0.0946807557658394580747887625576",
        "9.18356554034325309677636393665e-3",
        "0.487770528424761570785564259963",
        "1.23429756693047898565510967388",
        "-2.70771234998352545488110997506",
        "1.86662841817058703575371939957",
        "1/66",
    ],
    embedded_order=4,
    citation="Ch. Tsitouras, Comput. Math. Appl. 62(2) (2011) 770-775",
    aliases=("tsitouras-54", "tsitouras5"),
    dense_output=DenseOutput(
        coefficients=[
            [
                "0.9999999999999999742833725",
                "-2.763706197274825911336736",
                "2.913255461821912743750681",
                "-1.0530884977290216",
            ],
            [0, "0.13169999999999999727", "-0.22339999999999999818", "0.1017"],
            [0, "3.930296236894751528506874", "-5.941033872131504734702492", "2.490627285651252793"],
            [0, "-12.41107716693367698373438", "30.33818863028232159817299", "-16.54810288924490272"],
            [0, "37.50931341651103919496904", "-88.17890489476640110142767", "47.37952196281928122"],
            [0, "-27.89652628919728780594826", "65.09189467479367152629022", "-34.87065786149660974"],
            [0, "1.5", -4, "2.5"],
        ],
        order=4,
        citation="Ch. Tsitouras, Comput. Math. Appl. 62(2) (2011) 770-775 (continuous extension)",
    ),
)
