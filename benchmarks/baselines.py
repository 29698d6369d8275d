"""Hand-written numba baselines: the CPU speed limit batchode is measured against.

:func:`handwritten_tsit5_lorenz` integrates a batch of Lorenz systems with
Tsitouras' 5(4) pair and DifferentialEquations.jl's PI step-size controller,
written as tightly as numba allows: ``prange`` over trajectories (dealt to
the threads cyclically, one trajectory at a time), every state, stage and
controller variable a scalar local (the three states unrolled by hand, no
arrays inside the loop), ``fastmath`` off.

Tableau: Ch. Tsitouras, "Runge-Kutta pairs of order 5(4) satisfying only the
first column simplifying assumption", *Computers & Mathematics with
Applications* 62 (2011) 770-775 (seven stages, first same as last; the
order-5 weights are the last row of ``a``, the order-4 weights ``b_hat``
give the error estimate).  Controller: DifferentialEquations.jl's
``PIController`` with the constants it resolves for ``Tsit5()``.
"""

import numba
import numpy as np

__all__ = ["handwritten_tsit5_lorenz"]

# Lorenz constants (rho is swept).
SIGMA = 10.0
BETA = 8.0 / 3.0

# Tsit5 nodes and coupling coefficients (Tsitouras 2011).
C2 = 0.161
C3 = 0.327
C4 = 0.9
C5 = 0.9800255409045097
A21 = 0.161
A31 = -0.008480655492356989
A32 = 0.335480655492357
A41 = 2.897153057105493
A42 = -6.359448489975075
A43 = 4.3622954328695815
A51 = 5.325864828439257
A52 = -11.748883564062828
A53 = 7.4955393428898365
A54 = -0.09249506636175525
A61 = 5.86145544294642
A62 = -12.92096931784711
A63 = 8.159367898576159
A64 = -0.071584973281401
A65 = -0.028269050394068383
# Order-5 weights: the seventh row of a (b7 = 0), so stage 7 is f(t + dt, y_new).
B1 = 0.09646076681806523
B2 = 0.01
B3 = 0.4798896504144996
B4 = 1.379008574103742
B5 = -3.290069515436081
B6 = 2.324710524099774
# Error weights E = b - b_hat, with the order-4 weights b_hat of the paper.
E1 = B1 - 0.09468075576583945
E2 = B2 - 0.009183565540343254
E3 = B3 - 0.4877705284247616
E4 = B4 - 1.234297566930479
E5 = B5 - (-2.7077123499835256)
E6 = B6 - 1.866628418170587
E7 = -1.0 / 66.0

# DifferentialEquations.jl PIController for Tsit5.
BETA1 = 0.14
BETA2 = 0.08
QMIN = 0.2
QMAX = 10.0
GAMMA = 0.9
QOLDINIT = 1e-4


@numba.njit(error_model="numpy", fastmath=False)
def _lorenz(x, y, z, rho):
    """Return the Lorenz right-hand side at ``(x, y, z)`` as three scalars."""
    return SIGMA * (y - x), x * (rho - z) - y, x * y - BETA * z


@numba.njit(error_model="numpy", fastmath=False)
def _integrate_one(rho, x, y, z, t0, t1, rtol, atol, dt0):
    """Integrate one Lorenz trajectory from ``t0`` to ``t1`` with adaptive Tsit5.

    Returns the final state ``x, y, z`` and the numbers of accepted and
    rejected steps.
    """
    t = t0
    dt = dt0
    qold = QOLDINIT
    accepted = 0
    rejected = 0
    k1x, k1y, k1z = _lorenz(x, y, z, rho)
    while t < t1:
        last = t + dt >= t1
        if last:
            dt = t1 - t
        k2x, k2y, k2z = _lorenz(
            x + dt * (A21 * k1x),
            y + dt * (A21 * k1y),
            z + dt * (A21 * k1z),
            rho,
        )
        k3x, k3y, k3z = _lorenz(
            x + dt * (A31 * k1x + A32 * k2x),
            y + dt * (A31 * k1y + A32 * k2y),
            z + dt * (A31 * k1z + A32 * k2z),
            rho,
        )
        k4x, k4y, k4z = _lorenz(
            x + dt * (A41 * k1x + A42 * k2x + A43 * k3x),
            y + dt * (A41 * k1y + A42 * k2y + A43 * k3y),
            z + dt * (A41 * k1z + A42 * k2z + A43 * k3z),
            rho,
        )
        k5x, k5y, k5z = _lorenz(
            x + dt * (A51 * k1x + A52 * k2x + A53 * k3x + A54 * k4x),
            y + dt * (A51 * k1y + A52 * k2y + A53 * k3y + A54 * k4y),
            z + dt * (A51 * k1z + A52 * k2z + A53 * k3z + A54 * k4z),
            rho,
        )
        k6x, k6y, k6z = _lorenz(
            x + dt * (A61 * k1x + A62 * k2x + A63 * k3x + A64 * k4x + A65 * k5x),
            y + dt * (A61 * k1y + A62 * k2y + A63 * k3y + A64 * k4y + A65 * k5y),
            z + dt * (A61 * k1z + A62 * k2z + A63 * k3z + A64 * k4z + A65 * k5z),
            rho,
        )
        xn = x + dt * (B1 * k1x + B2 * k2x + B3 * k3x + B4 * k4x + B5 * k5x + B6 * k6x)
        yn = y + dt * (B1 * k1y + B2 * k2y + B3 * k3y + B4 * k4y + B5 * k5y + B6 * k6y)
        zn = z + dt * (B1 * k1z + B2 * k2z + B3 * k3z + B4 * k4z + B5 * k5z + B6 * k6z)
        k7x, k7y, k7z = _lorenz(xn, yn, zn, rho)

        # Error estimate, scaled per component and RMS-averaged (Julia's norm).
        ex = dt * (E1 * k1x + E2 * k2x + E3 * k3x + E4 * k4x + E5 * k5x + E6 * k6x + E7 * k7x)
        ey = dt * (E1 * k1y + E2 * k2y + E3 * k3y + E4 * k4y + E5 * k5y + E6 * k6y + E7 * k7y)
        ez = dt * (E1 * k1z + E2 * k2z + E3 * k3z + E4 * k4z + E5 * k5z + E6 * k6z + E7 * k7z)
        ex /= atol + max(abs(x), abs(xn)) * rtol
        ey /= atol + max(abs(y), abs(yn)) * rtol
        ez /= atol + max(abs(z), abs(zn)) * rtol
        err = np.sqrt((ex * ex + ey * ey + ez * ez) / 3.0)

        err_beta1 = err**BETA1
        if err <= 1.0:
            q = err_beta1 / qold**BETA2 / GAMMA
            q = min(max(q, 1.0 / QMAX), 1.0 / QMIN)
            t = t1 if last else t + dt
            dt = dt / q
            qold = max(err, QOLDINIT)
            x, y, z = xn, yn, zn
            k1x, k1y, k1z = k7x, k7y, k7z
            accepted += 1
        else:
            dt = dt / min(1.0 / QMIN, err_beta1 / GAMMA)
            rejected += 1
    return x, y, z, accepted, rejected


@numba.njit(parallel=True, fastmath=False, error_model="numpy")
def handwritten_tsit5_lorenz(rho, y0, t0, t1, rtol, atol, dt0):
    """Integrate one Lorenz system per ``rho`` with adaptive Tsit5, in parallel.

    Parameters
    ----------
    rho : numpy.ndarray
        Shape ``(n,)`` float64: the Lorenz ``rho`` of each trajectory
        (``sigma = 10``, ``beta = 8/3``).
    y0 : numpy.ndarray
        Shape ``(3,)`` float64: the initial state shared by all trajectories.
    t0, t1 : float
        Start and end of the integration interval (``t1 > t0``).
    rtol, atol : float
        Relative and absolute tolerances of the error norm.
    dt0 : float
        Initial step size (no automatic initial-step selection).

    Returns
    -------
    final : numpy.ndarray
        Shape ``(n, 3)`` float64: the state at ``t1`` of each trajectory.
    steps : numpy.ndarray
        Shape ``(n, 2)`` int64: accepted (column 0) and rejected (column 1)
        steps of each trajectory.
    """
    n = rho.shape[0]
    final = np.empty((n, 3))
    steps = np.empty((n, 2), dtype=np.int64)
    start_x, start_y, start_z = y0[0], y0[1], y0[2]
    # Cyclic schedule: worker w takes trajectories w, w + workers, ...  A
    # sweep's cost drifts with its parameter (on t in [0, 10]: 55 steps at
    # rho = 0, 350 at rho = 28), so prange's contiguous blocks of trajectories
    # would leave threads idle.
    workers = min(numba.get_num_threads(), n)
    for worker in numba.prange(workers):
        for i in range(worker, n, workers):
            x, y, z, accepted, rejected = _integrate_one(
                rho[i], start_x, start_y, start_z, t0, t1, rtol, atol, dt0
            )
            final[i, 0] = x
            final[i, 1] = y
            final[i, 2] = z
            steps[i, 0] = accepted
            steps[i, 1] = rejected
    return final, steps
