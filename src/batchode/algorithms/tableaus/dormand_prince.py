"""The Dormand-Prince pairs DOPRI5 and DOP853.

``dormand-prince-54`` (DOPRI5, RK5(4)7M)
    J. R. Dormand and P. J. Prince, "A family of embedded Runge-Kutta
    formulae", *Journal of Computational and Applied Mathematics* 6(1)
    (1980) 19-26, the RK5(4)7M coefficient table.  Seven stages, first
    same as last: the order-5 solution is propagated (local
    extrapolation) and the order-4 one is used for the error estimate.
    The same coefficients are tabulated in E. Hairer, S. P. Norsett and
    G. Wanner, *Solving Ordinary Differential Equations I*, 2nd ed.,
    Springer (1993), Section II.5, Table 5.2, and are used by scipy's
    ``RK45``, MATLAB's ``ode45`` and DifferentialEquations.jl's ``DP5``.

    Dense output: the continuous extension of order 4 of L. F. Shampine,
    "Some practical Runge-Kutta formulas", *Mathematics of Computation*
    46(173) (1986) 135-150, that Hairer and Wanner's code ``dopri5.f``
    evaluates (subroutine ``CONTD5``; Hairer, Norsett and Wanner, Section
    II.6), as do scipy's ``RK45`` and DifferentialEquations.jl's ``DP5``.
    It needs only the seven FSAL stages.  The code evaluates it as
    ``y + theta (dy + (1-theta) (e + theta (dy - h k7 - e + (1-theta) h
    sum_i d_i k_i)))`` with ``dy = y_new - y``, ``e = h k1 - dy`` and

        d = (-12715105075/11282082432, 0, 87487479700/32700410799,
             -10690763975/1880347072, 701980252875/199316789632,
             -1453857185/822651844, 69997945/29380423);

    expanding that in powers of ``theta`` (exactly, in rational
    arithmetic) gives the degree-4 weights below (scipy tabulates the
    same matrix), and a test repeats the expansion.  Codes that follow
    the formula printed in the book (pp. 191-192) use a degree-5 variant,
    which differs from this one by a multiple of
    ``theta**2 (1-theta)**2 (1-2 theta)`` in each weight.

``dormand-prince-853`` (DOP853)
    The 12-stage order-8 method of E. Hairer and G. Wanner's code
    DOP853, described in Hairer, Norsett and Wanner, *Solving Ordinary
    Differential Equations I*, 2nd ed. (1993), Section II.10 (a
    development of P. J. Prince and J. R. Dormand, "High order embedded
    Runge-Kutta formulae", *J. Comput. Appl. Math.* 7(1) (1981) 67-75).
    Coefficients are the 30-digit constants of the Fortran code
    ``dop853.f`` (as also reproduced in scipy's ``DOP853``); nodes 2-5
    involve sqrt(6), so they are irrational and given as decimals.

    Error estimate.  DOP853 has no single embedded formula: the code
    forms two differences of the order-8 solution, ``err5`` with weights
    ``er`` (against an order-5 solution) and ``err3`` with weights
    ``b - bhh`` (against an order-3 solution using stages 1, 9 and 12),
    and combines their scaled norms as
    ``err = err5**2 / sqrt(err5**2 + 0.01 * err3**2)``, which behaves like
    ``O(h**8)`` for small steps.
    This tableau stores the order-5 solution as ``b_hat = b - er``
    (computed exactly from the code's decimal constants, then rounded),
    so :attr:`~ButcherTableau.error_weights` reproduces the code's ``er``
    vector to float64 rounding, and ``embedded_order`` is 5.
    An engine that wants Hairer's combined estimator also needs the
    order-3 weights, exported as :data:`DOP853_THIRD_ORDER_WEIGHTS`.
    DifferentialEquations.jl's ``DP8`` follows the Fortran code here
    (it carries both residuals and combines them the same way).

    The code also evaluates ``f(t + h, y_new)`` after each step for dense
    output and as the next step's first stage; that is ordinary reuse of
    the next first stage, not an FSAL stage of this 12-stage tableau, so
    ``is_fsal`` is False.

    Dense output: the continuous extension of order 7 of the same code
    (Hairer, Norsett and Wanner, Sections II.6 and II.10; subroutine
    ``CONTD8`` and the preparation of ``CONT`` after an accepted step in
    ``dop853.f``; scipy's ``DOP853`` dense output is the same).  It reads
    the twelve stages and four more: ``k13 = f(t + h, y_new)`` (node 1, row
    ``b``; the code's next first stage) and three stages at nodes 1/10,
    1/5 and 7/9 with the code's coefficients ``a14j``, ``a15j``, ``a16j``,
    stored here as :attr:`DenseOutput.extra_a`.  The code evaluates

        u(theta) = y + theta (dy + (1-theta) (e + theta (dy - h k13 - e
                   + (1-theta) (r4 + theta (r5 + (1-theta) (r6 + theta r7))))))

    with ``dy = y_new - y = h sum_i b_i k_i``, ``e = h k1 - dy`` and
    ``r_m = h sum_i d_mi k_i`` over all sixteen stages (its constants
    ``d41 .. d716``).  Every multiplier in that nested form has integer
    coefficients, so expanding it in powers of ``theta`` turns the code's
    30-digit decimals into exact decimals: the degree-7 weights below are
    that expansion, exact (rounded once when read), and a test repeats it
    from the code's ``d`` constants and checks the nested form numerically.
"""

from fractions import Fraction

from batchode.algorithms.tableaus.butcher import ButcherTableau
from batchode.algorithms.tableaus.dense_output import DenseOutput

__all__ = ["DOP853_THIRD_ORDER_WEIGHTS", "DORMAND_PRINCE_54", "DORMAND_PRINCE_853"]

DORMAND_PRINCE_54 = ButcherTableau(
    name="dormand-prince-54",
    a=[
        [0, 0, 0, 0, 0, 0, 0],
        ["1/5", 0, 0, 0, 0, 0, 0],
        ["3/40", "9/40", 0, 0, 0, 0, 0],
        ["44/45", "-56/15", "32/9", 0, 0, 0, 0],
        ["19372/6561", "-25360/2187", "64448/6561", "-212/729", 0, 0, 0],
        ["9017/3168", "-355/33", "46732/5247", "49/176", "-5103/18656", 0, 0],
        ["35/384", 0, "500/1113", "125/192", "-2187/6784", "11/84", 0],
    ],
    b=["35/384", 0, "500/1113", "125/192", "-2187/6784", "11/84", 0],
    c=[0, "1/5", "3/10", "4/5", "8/9", 1, 1],
    order=5,
    b_hat=["5179/57600", 0, "7571/16695", "393/640", "-92097/339200", "187/2100", "1/40"],
    embedded_order=4,
    citation="J. R. Dormand, P. J. Prince, J. Comput. Appl. Math. 6(1) (1980) 19-26",
    aliases=("dopri5", "rk45", "dp5"),
    dense_output=DenseOutput(
        coefficients=[
            [1, "-8048581381/2820520608", "8663915743/2820520608", "-12715105075/11282082432"],
            [0, 0, 0, 0],
            [0, "131558114200/32700410799", "-68118460800/10900136933", "87487479700/32700410799"],
            [0, "-1754552775/470086768", "14199869525/1410260304", "-10690763975/1880347072"],
            [0, "127303824393/49829197408", "-318862633887/49829197408", "701980252875/199316789632"],
            [0, "-282668133/205662961", "2019193451/616988883", "-1453857185/822651844"],
            [0, "40617522/29380423", "-110615467/29380423", "69997945/29380423"],
        ],
        order=4,
        citation="L. F. Shampine, Math. Comp. 46(173) (1986) 135-150; Hairer's dopri5.f (CONTD5)",
    ),
)

# Order-8 weights b_1..b_12 of dop853.f (b_2..b_5 are zero).
_DOP853_B = (
    "5.42937341165687622380535766363e-2", 0, 0, 0, 0,
    "4.45031289275240888144113950566",
    "1.89151789931450038304281599044",
    "-5.8012039600105847814672114227",
    "3.1116436695781989440891606237e-1",
    "-1.52160949662516078556178806805e-1",
    "2.01365400804030348374776537501e-1",
    "4.47106157277725905176885569043e-2",
)

# Error weights er_1..er_12 of dop853.f: b minus an order-5 solution.
_DOP853_ER = (
    "0.1312004499419488073250102996e-1", 0, 0, 0, 0,
    "-0.1225156446376204440720569753e+1",
    "-0.4957589496572501915214079952",
    "0.1664377182454986536961530415e+1",
    "-0.3503288487499736816886487290",
    "0.3341791187130174790297318841",
    "0.8192320648511571246570742613e-1",
    "-0.2235530786388629525884427845e-1",
)

# DOP853's interpolant: after the method's 12 stages, k13 = f(t + h, y_new)
# and the three stages a14j, a15j, a16j of dop853.f (see the module notes).
_DOP853_DENSE_OUTPUT = DenseOutput(
    coefficients=[
        [1, "-10.2660570737593065784211883842911", "48.1618509685664566301953957011274",  # k1
         "-114.9330487499783325382371981122", "147.464468756697683076313870247",
         "-97.066853630113680830925412004", "25.693933462703749003312586129"],
        [0] * 7,  # k2
        [0] * 7,  # k3
        [0] * 7,  # k4
        [0] * 7,  # k5
        [0, "13.91765363177660441394873635288", "-154.78787266663715596889017891312",  # k6
         "522.9219089608218749136589274459", "-456.25918840208781254725549026",
         "-75.53193732135753567056079139", "154.18974869023643374053993627"],
        [0, "2.60560375199360945784871749862", "-21.62282238462650422678060544548",  # k7
         "2.5351820289667551481771305373", "292.2541746599040625262099723",
         "-505.40999933296891819777278999", "231.52937917604549567536039109"],
        [0, "-15.0189442235196845156288193001", "160.0944770897304761158158382494",  # k8
         "-474.307182603764347814837943472", "135.96036916173837287308688176",
         "545.10919452641872234295033044", "-357.6391179106141237828534991"],
        [0, "3.05052768331848795994226318171", "-38.54396729189063250466167182594",  # k9
         "174.4714000921988407315906972566", "-337.051347023877126426419627092",
         "291.789875090832560137864946246", "-93.405324183624310003907691704"],
        [0, "-1.327874432765521227736435495315", "16.66177043004954199717523791031",  # k10
         "-74.4402781412630338777638949858", "140.7521001619160633604858847321",
         "-119.2562021040511994875921103191", "37.458323136451633156875139351"],
        [0, "2.844533632672879320978506777503", "-36.558295489910119270837507129002",  # k11
         "170.690071691475136612404224551", "-345.97484854804955105743375744",
         "313.299553623577985194735771618", "-104.09964950896230045147246184"],
        [0, "0.7657106259527865897087681636129", "-9.9069955356193663693748116128086",  # k12
         "46.8029919188743947246274324409", "-96.5198694669957042802037349354",
         "88.7431665001761650491043980796", "-29.840293426660503123344363579"],
        [0, "-1.0889903364513333108206981174", "14.0970130423200021011792868759",  # k13
         "-66.6823059129436396177354540237", "137.9629906347437499296480149473",
         "-127.8221640176799228567033247401", "43.533456590011143754432175058"],
        [0, "18.148505520854727256656404962", "-127.633109492538752948863041181",  # k14
         "357.341951612965727834419198922", "-500.703150790922388797269844749",
         "349.170357108828969603452232646", "-96.3245539591882829483949506"],
        [0, "-9.1946323924783554000451984436", "93.3567459327893934316789144048",  # k15
         "-282.6272618704363208466136234348", "361.1400771880333221636027836016",
         "-201.8521905335234785138543623", "39.177261675615439165231486172"],
        [0, "-4.4360363875948939664310572", "56.68120539776666101336314297",  # k16
         "-261.77342902691705526968949713", "520.97422366889932917923504691",
         "-461.17279991013966677069888831", "149.72683625798562581422125276"],

    ],
    order=7,
    citation=(
        "E. Hairer, S. P. Norsett, G. Wanner, Solving Ordinary Differential Equations I, 2nd ed., Springer "
        "(1993), Sect. II.6 and II.10; code dop853.f (CONTD8), expanded in powers of theta"
    ),
    extra_a=[
        _DOP853_B,
        [
            "5.61675022830479523392909219681e-2", 0, 0, 0, 0, 0,
            "2.53500210216624811088794765333e-1",
            "-2.46239037470802489917441475441e-1",
            "-1.24191423263816360469010140626e-1",
            "1.5329179827876569731206322685e-1",
            "8.20105229563468988491666602057e-3",
            "7.56789766054569976138603589584e-3",
            "-8.298e-3",
        ],
        [
            "3.18346481635021405060768473261e-2", 0, 0, 0, 0,
            "2.83009096723667755288322961402e-2",
            "5.35419883074385676223797384372e-2",
            "-5.49237485713909884646569340306e-2",
            0, 0,
            "-1.08347328697249322858509316994e-4",
            "3.82571090835658412954920192323e-4",
            "-3.40465008687404560802977114492e-4",
            "1.41312443674632500278074618366e-1",
        ],
        [
            "-4.28896301583791923408573538692e-1", 0, 0, 0, 0,
            "-4.69762141536116384314449447206",
            "7.68342119606259904184240953878",
            "4.06898981839711007970213554331",
            "3.56727187455281109270669543021e-1",
            0, 0, 0,
            "-1.39902416515901462129418009734e-3",
            "2.9475147891527723389556272149",
            "-9.15095847217987001081870187138",
        ],
    ],
    extra_c=[1, "1/10", "1/5", "7/9"],
)

DORMAND_PRINCE_853 = ButcherTableau(
    name="dormand-prince-853",
    a=[
        [0] * 12,
        ["5.26001519587677318785587544488e-2"] + [0] * 11,
        ["1.97250569845378994544595329183e-2", "5.91751709536136983633785987549e-2"]
        + [0] * 10,
        ["2.95875854768068491816892993775e-2", 0, "8.87627564304205475450678981324e-2"]
        + [0] * 9,
        [
            "2.41365134159266685502369798665e-1", 0,
            "-8.84549479328286085344864962717e-1",
            "9.24834003261792003115737966543e-1",
        ]
        + [0] * 8,
        [
            "3.7037037037037037037037037037e-2", 0, 0,
            "1.70828608729473871279604482173e-1",
            "1.25467687566822425016691814123e-1",
        ]
        + [0] * 7,
        [
            "3.7109375e-2", 0, 0,
            "1.70252211019544039314978060272e-1",
            "6.02165389804559606850219397283e-2",
            "-1.7578125e-2",
        ]
        + [0] * 6,
        [
            "3.70920001185047927108779319836e-2", 0, 0,
            "1.70383925712239993810214054705e-1",
            "1.07262030446373284651809199168e-1",
            "-1.53194377486244017527936158236e-2",
            "8.27378916381402288758473766002e-3",
        ]
        + [0] * 5,
        [
            "6.24110958716075717114429577812e-1", 0, 0,
            "-3.36089262944694129406857109825",
            "-8.68219346841726006818189891453e-1",
            "2.75920996994467083049415600797e1",
            "2.01540675504778934086186788979e1",
            "-4.34898841810699588477366255144e1",
        ]
        + [0] * 4,
        [
            "4.77662536438264365890433908527e-1", 0, 0,
            "-2.48811461997166764192642586468",
            "-5.90290826836842996371446475743e-1",
            "2.12300514481811942347288949897e1",
            "1.52792336328824235832596922938e1",
            "-3.32882109689848629194453265587e1",
            "-2.03312017085086261358222928593e-2",
        ]
        + [0] * 3,
        [
            "-9.3714243008598732571704021658e-1", 0, 0,
            "5.18637242884406370830023853209",
            "1.09143734899672957818500254654",
            "-8.14978701074692612513997267357",
            "-1.85200656599969598641566180701e1",
            "2.27394870993505042818970056734e1",
            "2.49360555267965238987089396762",
            "-3.0467644718982195003823669022",
        ]
        + [0] * 2,
        [
            "2.27331014751653820792359768449", 0, 0,
            "-1.05344954667372501984066689879e1",
            "-2.00087205822486249909675718444",
            "-1.79589318631187989172765950534e1",
            "2.79488845294199600508499808837e1",
            "-2.85899827713502369474065508674",
            "-8.87285693353062954433549289258",
            "1.23605671757943030647266201528e1",
            "6.43392746015763530355970484046e-1",
            0,
        ],
    ],
    b=_DOP853_B,
    c=[
        0,
        "0.526001519587677318785587544488e-01",
        "0.789002279381515978178381316732e-01",
        "0.118350341907227396726757197510",
        "0.281649658092772603273242802490",
        "1/3",
        "1/4",
        "4/13",
        "127/195",
        "3/5",
        "6/7",
        1,
    ],
    order=8,
    b_hat=[Fraction(b) - Fraction(er) for b, er in zip(_DOP853_B, _DOP853_ER)],
    embedded_order=5,
    citation=(
        "E. Hairer, S. P. Norsett, G. Wanner, Solving Ordinary Differential "
        "Equations I, 2nd ed., Springer (1993), Sect. II.10; code dop853.f"
    ),
    aliases=("dop853", "dp8"),
    dense_output=_DOP853_DENSE_OUTPUT,
)

#: Order-3 weights ``bhh`` of dop853.f (nonzero at stages 1, 9 and 12),
#: for Hairer's combined error estimate ``err3 = h * sum((b - bhh) * k)``.
DOP853_THIRD_ORDER_WEIGHTS: tuple[float, ...] = tuple(
    float(Fraction(w))
    for w in (
        "0.244094488188976377952755905512", 0, 0, 0, 0, 0, 0, 0,
        "0.733846688281611857341361741547", 0, 0,
        "0.220588235294117647058823529412e-1",
    )
)
