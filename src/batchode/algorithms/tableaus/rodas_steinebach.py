"""Steinebach's Rodas3P and Rodas5P (``rodas3p``, ``rodas5p``).

Both are RODAS-type Rosenbrock methods (stiffly accurate, error
estimate = last stage increment, see
:mod:`~batchode.algorithms.tableaus.rodas_hairer_wanner`) designed by
G. Steinebach to keep their order on the Prothero-Robinson test and on
discretised parabolic PDEs, and implemented by him in
DifferentialEquations.jl; the coefficients below are the transformed
(``A``, ``C``, ``gamma``) data of its ``Rodas3PTableau`` and
``Rodas5PTableau``, converted exactly to the standard form by
:meth:`RosenbrockTableau.from_transformed`.  Rodas5P also carries its
dense output; Rodas3P's (Julia's ``H``) is not stored.

``rodas3p``
    G. Steinebach, "Rosenbrock methods within OrdinaryDiffEq.jl -
    Overview, recent developments and applications", preprint (2024),
    https://github.com/hbrs-cse/RosenbrockMethods (Rodas3P; the same
    work gives its W-variant Rodas23W).  Five stages, ``gamma = 1/3``,
    order 3, embedded order 2, with exactly rational coefficients; the
    standard form works out to::

        c = (0, 4/9, 0, 1, 1),      d = (1/3, -1/9, 1, 0, 0)
        b     = (33/8, -27/8, -3/4, 2/3, 1/3)
        b_hat = (3/8, 3/8, -1/12, 1/3, 0)

    Stage 3 is evaluated at ``(t0, y0)`` (its function value is
    ``f(t0, y0)`` again, as in Julia, which reuses it) and stage 5 at
    the same point as stage 4 (Julia reuses that value too).  Julia forms
    ``y1 = (stage-4 argument) + u5`` and the second-order
    ``(stage-4 argument) + u4``, i.e. ``m = (a41, a42, a43, 0, 1)`` and
    ``m_hat = (a41, a42, a43, 1, 0)``.  Julia's ``Rodas3P`` additionally
    tests the error of its dense output and takes the larger of the two
    estimates; that is engine logic.

``rodas5p``
    G. Steinebach, "Construction of Rosenbrock-Wanner method Rodas5P and
    numerical benchmarks within the Julia Differential Equations
    package", *BIT Numerical Mathematics* 63(2) (2023).  Eight
    stages, ``gamma = 0.21193756319429014``, order 5, embedded order 4,
    stiffly accurate for both solutions; ``y1 = (stage-8 argument) +
    u8`` and the embedded solution is the stage-8 argument, so
    ``m = (A[7, 0..6], 1)`` and ``m_hat = (A[7, 0..6], 0)``.  The data
    are the 16-17 digit decimals of Julia's ``Rodas5PTableau``; the
    derived ``c`` and ``d`` reproduce its ``c`` and ``d`` to ~4e-15.

    Dense output of order 4 in the increments ``u_i``, Julia's
    ``h21..h48`` (three rows of ``H``)::

        u(theta) = (1 - theta) y0 + theta (y1 + (1 - theta)
                   (H[0] . u + theta H[1] . u + theta**2 H[2] . u)),

    checked by the continuous Rosenbrock order conditions (all of order 4
    hold, some of order 5 fail) and on steps of problems with exact
    solutions.
"""

from batchode.algorithms.tableaus.rosenbrock import RosenbrockTableau
from batchode.algorithms.tableaus.rosenbrock_dense_output import RosenbrockDenseOutput

__all__ = ["RODAS3P", "RODAS5P"]

_A4_3P = ["2.90625", "3.375", "0.40625"]

RODAS3P = RosenbrockTableau.from_transformed(
    name="rodas3p",
    gamma_diag="1/3",
    A=[[], ["4/3"], [0, 0], _A4_3P, _A4_3P + [0]],
    C=[
        [],
        ["-4"],
        ["8.25", "6.75"],
        ["1.21875", "-5.0625", "-1.96875"],
        ["4.03125", "-15.1875", "-4.03125", "6"],
    ],
    m=_A4_3P + [0, 1],
    m_hat=_A4_3P + [1, 0],
    order=3,
    embedded_order=2,
    citation="G. Steinebach, Rosenbrock methods within OrdinaryDiffEq.jl, preprint (2024); "
    "OrdinaryDiffEq.jl Rodas3PTableau",
    aliases=("rodas-3p",),
)

_A8_5P = [
    "-7.502846399306121", "2.561846144803919", "-11.627539656261098",
    "-0.18268767659942256", "0.030198172008377946", "1", "1",
]

RODAS5P = RosenbrockTableau.from_transformed(
    name="rodas5p",
    gamma_diag="0.21193756319429014",
    A=[
        [],
        ["3.0"],
        ["2.849394379747939", "0.45842242204463923"],
        ["-6.954028509809101", "2.489845061869568", "-10.358996098473584"],
        [
            "2.8029986275628964", "0.5072464736228206", "-0.3988312541770524",
            "-0.04721187230404641",
        ],
        _A8_5P[:5],
        _A8_5P[:6],
        _A8_5P,
    ],
    C=[
        [],
        ["-14.155112264123755"],
        ["-17.97296035885952", "-2.859693295451294"],
        ["147.12150275711716", "-1.41221402718213", "71.68940251302358"],
        ["165.43517024871676", "-0.4592823456491126", "42.90938336958603", "-5.961986721573306"],
        [
            "24.854864614690072", "-3.0009227002832186", "47.4931110020768",
            "5.5814197821558125", "-0.6610691825249471",
        ],
        [
            "30.91273214028599", "-3.1208243349937974", "77.79954646070892",
            "34.28646028294783", "-19.097331116725623", "-28.087943162872662",
        ],
        [
            "37.80277123390563", "-3.2571969029072276", "112.26918849496327",
            "66.9347231244047", "-40.06618937091002", "-54.66780262877968",
            "-9.48861652309627",
        ],
    ],
    m=_A8_5P + ["1"],
    m_hat=_A8_5P + ["0"],
    order=5,
    embedded_order=4,
    citation="G. Steinebach, BIT Numer. Math. 63(2) (2023); OrdinaryDiffEq.jl Rodas5PTableau",
    aliases=("rodas-5p",),
    dense_output=RosenbrockDenseOutput(
        coefficients=[
            [
                "25.948786856663858", "-2.5579724845846235", "10.433815404888879", "-2.3679251022685204",
                "0.524948541321073", "1.1241088310450404", "0.4272876194431874", "-0.17202221070155493",
            ],
            [
                "-9.91568850695171", "-0.9689944594115154", "3.0438037242978453", "-24.495224566215796",
                "20.176138334709044", "15.98066361424651", "-6.789040303419874", "-6.710236069923372",
            ],
            [
                "11.419903575922262", "2.8879645146136994", "72.92137995996029", "80.12511834622643",
                "-52.072871366152654", "-59.78993625266729", "-0.15582684282751913", "4.883087185713722",
            ],
        ],
        order=4,
        citation="G. Steinebach, BIT Numer. Math. 63(2) (2023); OrdinaryDiffEq.jl Rodas5PTableau (h21..h48)",
    ),
)
