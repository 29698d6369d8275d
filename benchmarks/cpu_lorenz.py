"""CPU benchmark: a Lorenz parameter sweep, final state only.

Compares, on ``sigma = 10``, ``beta = 8/3``, ``rho = linspace(0, 28, N)``,
initial state ``(1, 0, 0)``, ``t`` in ``[0, 10]``, ``rtol = atol = 1e-6``,
float64:

- ``scipy.integrate.solve_ivp`` called once per trajectory (RK45 and DOP853),
  timed on an evenly spaced subset of the sweep and extrapolated to ``N``;
- the hand-written numba Tsit5 loop of :mod:`baselines` (the CPU speed
  limit);
- ``batchode.solve_ivp`` with Tsit5 on the CPU backend (the table says
  "batchode: not available yet" while that API cannot be imported);
- one ``Solver.solve`` of the sweep with its run-time values read at run
  time and the same with them compiled in
  (:mod:`batchode.tools.compiled_in`), timed in alternation: the ratio is
  what reading tolerances and step limits at run time costs.

Accuracy is measured on the same subset against scipy DOP853 at
``rtol = atol = 1e-12``.  Numba timings are warm: each method is first called
on a tiny batch (that time, mostly compilation, is reported separately), then
on the full batch ``--repeats`` times, and the fastest is reported.

Run from the repository root::

    python benchmarks/cpu_lorenz.py --runs 10000 --scipy-runs 200

Prints a table and writes ``benchmarks/results/cpu_lorenz.json``.
"""

import argparse
import datetime
import json
import math
import os
import platform
import time
from pathlib import Path

import numba
import numpy as np
import scipy
from scipy.integrate import solve_ivp

from baselines import BETA, SIGMA, handwritten_tsit5_lorenz
from common import git_commit

T_SPAN = (0.0, 10.0)
Y0 = np.array([1.0, 0.0, 0.0])
RHO_RANGE = (0.0, 28.0)
RTOL = ATOL = 1e-6
REFERENCE_TOL = 1e-12
# The rho < 1 members decay to the origin, where only an absolute error means
# anything: the relative error divides by max(||y_ref||, REL_ERROR_FLOOR).
REL_ERROR_FLOOR = 1.0
DT0 = 1e-2
WARMUP_RUNS = 4
RESULTS_PATH = Path(__file__).resolve().parent / "results" / "cpu_lorenz.json"


def lorenz_rhs(t, state, rho):
    """Lorenz right-hand side in the form ``scipy.integrate.solve_ivp`` calls.

    Parameters
    ----------
    t : float
        Time (unused: the system is autonomous).
    state : numpy.ndarray
        Shape ``(3,)``: ``x, y, z``.
    rho : float
        The Lorenz ``rho``.

    Returns
    -------
    numpy.ndarray
        Shape ``(3,)``: the time derivative of ``state``.
    """
    x, y, z = state
    return np.array([SIGMA * (y - x), x * (rho - z) - y, x * y - BETA * z])


def timed(func, *args, **kwargs):
    """Call ``func(*args, **kwargs)`` and measure its wall time.

    Parameters
    ----------
    func : callable
        The function to time.
    *args, **kwargs
        Its arguments.

    Returns
    -------
    result : object
        What ``func`` returned.
    seconds : float
        Wall-clock seconds the call took.
    """
    start = time.perf_counter()
    result = func(*args, **kwargs)
    return result, time.perf_counter() - start


def run_scipy(rho, method, rtol, atol):
    """Integrate each trajectory with its own ``scipy.integrate.solve_ivp`` call.

    Parameters
    ----------
    rho : numpy.ndarray
        Shape ``(n,)``: the ``rho`` of each trajectory.
    method : str
        A ``solve_ivp`` method name (``"RK45"``, ``"DOP853"``).
    rtol, atol : float
        Tolerances handed to ``solve_ivp``.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, 3)``: the final state of each trajectory.

    Raises
    ------
    RuntimeError
        If ``solve_ivp`` reports a failure.
    """
    final = np.empty((rho.size, 3))
    for i, rho_i in enumerate(rho):
        sol = solve_ivp(
            lorenz_rhs, T_SPAN, Y0, method=method, rtol=rtol, atol=atol, args=(rho_i,)
        )
        if not sol.success:
            raise RuntimeError(f"solve_ivp({method}) failed at rho={rho_i}: {sol.message}")
        final[i] = sol.y[:, -1]
    return final


def run_handwritten(rho):
    """Integrate the sweep with the hand-written numba Tsit5 loop.

    Parameters
    ----------
    rho : numpy.ndarray
        Shape ``(n,)``: the ``rho`` of each trajectory.

    Returns
    -------
    final : numpy.ndarray
        Shape ``(n, 3)``: the final states.
    steps : numpy.ndarray
        Shape ``(n, 2)``: accepted and rejected steps per trajectory.
    """
    return handwritten_tsit5_lorenz(rho, Y0, T_SPAN[0], T_SPAN[1], RTOL, ATOL, DT0)


def run_batchode(rho):
    """Integrate the sweep with ``batchode.solve_ivp`` (Tsit5, CPU backend, float64).

    The initial step is ``DT0``, as in the hand-written loop.

    Parameters
    ----------
    rho : numpy.ndarray
        Shape ``(n,)``: the ``rho`` of each trajectory.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, 3)``: the final states (``res.final_state``).

    Raises
    ------
    ImportError, AttributeError
        While batchode, or the part of its API used here, does not exist yet.
    """
    import batchode
    import batchode.systems.examples

    system = batchode.systems.examples.lorenz()
    res = batchode.solve_ivp(
        system,
        t_span=T_SPAN,
        parameters={"rho": rho},
        y0=Y0,
        method="tsit5",
        dt=DT0,
        rtol=RTOL,
        atol=ATOL,
        precision="float64",
        backend="cpu",
    )
    return np.asarray(res.final_state)


def runtime_values_cost(rho, repeats):
    """Wall times of one ``Solver.solve`` of the sweep with its run-time values read at run time, and compiled in.

    The two solvers (:mod:`batchode.tools.compiled_in`) are timed in
    alternation, ``repeats`` times each, and the fastest of each is
    returned: the ratio is what reading tolerances, step limits and the
    controller's constants at run time costs.
    """
    import batchode
    import batchode.systems.examples
    from batchode.tools.compiled_in import runtime_values_compiled_in

    system = batchode.systems.examples.lorenz()

    def make_solver():
        solver = batchode.Solver(system, method="tsit5", dt=DT0, rtol=RTOL, atol=ATOL, precision="float64",
                                 backend="cpu", save_time_series=False)
        solve(solver)  # compiled here
        return solver

    def solve(solver):
        return solver.solve(T_SPAN, y0=Y0, parameters={"rho": rho}, progress=False)

    run_time = make_solver()
    with runtime_values_compiled_in():
        compiled_in = make_solver()
    best = [math.inf, math.inf]
    for _ in range(repeats):
        for k, solver in enumerate((run_time, compiled_in)):
            best[k] = min(best[k], timed(solve, solver)[1])
    return tuple(best)


def time_warm(func, rho, repeats):
    """Time ``func`` warm: a tiny warm-up batch, then the best of ``repeats`` full batches.

    Parameters
    ----------
    func : callable
        ``func(rho)``, called with a slice of the sweep, then the sweep.
    rho : numpy.ndarray
        Shape ``(n,)``: the full sweep.
    repeats : int
        Full-batch calls; the fastest is reported (a shared machine's
        noise only ever adds time).

    Returns
    -------
    result : object
        What the fastest full-batch call returned.
    seconds : float
        Wall time of the fastest full-batch call.
    warmup_seconds : float
        Wall time of the warm-up call on ``WARMUP_RUNS`` trajectories
        (compilation, thread-pool start-up and the tiny run).
    """
    _, warmup_seconds = timed(func, rho[:WARMUP_RUNS])
    result, seconds = min((timed(func, rho) for _ in range(repeats)), key=lambda timing: timing[1])
    return result, seconds, warmup_seconds


def relative_errors(final, reference):
    """Norm-wise relative error of each final state, with the reference norm floored.

    Parameters
    ----------
    final, reference : numpy.ndarray
        Shape ``(n, 3)``.

    Returns
    -------
    numpy.ndarray
        Shape ``(n,)``: ``||final - reference||_2 / max(||reference||_2, REL_ERROR_FLOOR)``
        per row.
    """
    scale = np.maximum(np.linalg.norm(reference, axis=1), REL_ERROR_FLOOR)
    return np.linalg.norm(final - reference, axis=1) / scale


def machine_info(threads):
    """Describe the machine and software the benchmark ran on.

    Parameters
    ----------
    threads : int
        Numba threads used for the parallel runs.

    Returns
    -------
    dict
        JSON-serialisable machine, software, date and commit information.
    """
    return {
        "cpu_count": os.cpu_count(),
        "numba_threads": threads,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "numba": numba.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
    }


def make_row(method, runs, seconds, errors, **extra):
    """One result row; ``seconds`` is the wall time for ``runs`` trajectories."""
    return {
        "method": method,
        "runs": runs,
        "wall_s": seconds,
        "per_run_us": seconds / runs * 1e6,
        "max_rel_error": float(errors.max()),
        "median_rel_error": float(np.median(errors)),
        **extra,
    }


def add_ratios(rows, rk45_row, handwritten_row):
    """Add to each timed row its speed-up over ``rk45_row`` and time ratio to ``handwritten_row``."""
    for row in rows:
        if "per_run_us" in row:
            row["speedup_vs_scipy_rk45"] = rk45_row["per_run_us"] / row["per_run_us"]
            row["ratio_vs_handwritten"] = row["per_run_us"] / handwritten_row["per_run_us"]


def print_table(rows, runs, scipy_runs, threads):
    """Print the results table and its footnotes."""
    header = (
        f"{'method':<28} {'runs':>7} {'wall s (warm)':>14} {'per run us':>11} "
        f"{'x vs RK45':>10} {'t / hand':>9} {'max rel err':>12} {'med rel err':>12}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        name = row["method"] + (" *" if row.get("extrapolated") else "")
        if "wall_s" not in row:
            print(f"{name:<28} {runs:>7} {row['status']}")
            continue
        print(
            f"{name:<28} {row['runs']:>7} {row['wall_s']:>14.4f} {row['per_run_us']:>11.2f} "
            f"{row['speedup_vs_scipy_rk45']:>10.1f} {row['ratio_vs_handwritten']:>9.2f} "
            f"{row['max_rel_error']:>12.2e} {row['median_rel_error']:>12.2e}"
        )
    print()
    print(
        f"* scipy loops run serially: timed on {scipy_runs} evenly spaced runs, "
        f"wall time extrapolated to {runs} runs."
    )
    print(f"numba runs use {threads} thread(s); 'x vs RK45' is the speed-up over the scipy RK45")
    print("loop, 't / hand' the time relative to the hand-written loop (1 = as fast).")
    print(
        f"Errors: ||y - y_ref|| / max(||y_ref||, {REL_ERROR_FLOOR:g}) of the final state over the "
        f"{scipy_runs} subset runs,"
    )
    print(f"y_ref from scipy DOP853 at rtol = atol = {REFERENCE_TOL:g}.")
    for row in rows:
        if "warmup_s" in row:
            line = (
                f"{row['method']}: first call on {WARMUP_RUNS} runs (compilation) "
                f"{row['warmup_s']:.2f} s"
            )
            if "mean_accepted_steps" in row:
                line += (
                    f"; steps per run: {row['mean_accepted_steps']:.1f} accepted, "
                    f"{row['mean_rejected_steps']:.2f} rejected (mean)"
                )
            print(line)
        if "reason" in row:
            print(f"{row['method']}: {row['reason']}")


def parse_args():
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10000, help="trajectories N (default 10000)")
    parser.add_argument(
        "--scipy-runs",
        type=int,
        default=200,
        help="subset timed with scipy and used for the accuracy check (default 200)",
    )
    parser.add_argument("--repeats", type=int, default=7, help="full batches timed per numba method, best kept (default 7)")
    parser.add_argument(
        "--threads",
        type=int,
        default=numba.config.NUMBA_NUM_THREADS,
        help=f"numba threads (default all: {numba.config.NUMBA_NUM_THREADS})",
    )
    args = parser.parse_args()
    if args.runs < WARMUP_RUNS:
        parser.error(f"--runs must be at least {WARMUP_RUNS}")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if not 1 <= args.scipy_runs <= args.runs:
        parser.error("--scipy-runs must be between 1 and --runs")
    if not 1 <= args.threads <= numba.config.NUMBA_NUM_THREADS:
        parser.error(f"--threads must be between 1 and {numba.config.NUMBA_NUM_THREADS}")
    return args


def main():
    """Run the benchmark, print the table and write the JSON results."""
    args = parse_args()
    numba.set_num_threads(args.threads)
    rho = np.linspace(*RHO_RANGE, args.runs)
    subset = np.unique(np.linspace(0, args.runs - 1, args.scipy_runs).round().astype(np.int64))
    rho_subset = rho[subset]

    reference, reference_s = timed(run_scipy, rho_subset, "DOP853", REFERENCE_TOL, REFERENCE_TOL)

    scipy_rows = []
    for method in ("RK45", "DOP853"):
        final, seconds = timed(run_scipy, rho_subset, method, RTOL, ATOL)
        scipy_rows.append(
            make_row(
                f"scipy {method} loop",
                args.runs,
                seconds / subset.size * args.runs,
                relative_errors(final, reference),
                extrapolated=True,
                timed_runs=int(subset.size),
                timed_wall_s=seconds,
            )
        )

    (final, steps), seconds, warmup_s = time_warm(run_handwritten, rho, args.repeats)
    handwritten_row = make_row(
        "hand-written numba Tsit5",
        args.runs,
        seconds,
        relative_errors(final[subset], reference),
        warmup_s=warmup_s,
        mean_accepted_steps=float(steps[:, 0].mean()),
        mean_rejected_steps=float(steps[:, 1].mean()),
    )

    try:
        final, seconds, warmup_s = time_warm(run_batchode, rho, args.repeats)
    except (ImportError, AttributeError) as exc:
        batchode_row = {
            "method": "batchode tsit5 cpu",
            "status": "batchode: not available yet",
            "reason": f"{type(exc).__name__}: {exc}",
        }
    else:
        batchode_row = make_row(
            "batchode tsit5 cpu",
            args.runs,
            seconds,
            relative_errors(final[subset], reference),
            warmup_s=warmup_s,
        )

    rows = [*scipy_rows, handwritten_row, batchode_row]
    add_ratios(rows, rk45_row=scipy_rows[0], handwritten_row=handwritten_row)
    print_table(rows, args.runs, subset.size, args.threads)
    print(f"reference (scipy DOP853, tol {REFERENCE_TOL:g}) on {subset.size} runs: {reference_s:.2f} s")
    cost = None
    if "wall_s" in batchode_row:
        run_time_s, compiled_in_s = runtime_values_cost(rho, args.repeats)
        cost = dict(run_time_s=run_time_s, compiled_in_s=compiled_in_s, ratio=run_time_s / compiled_in_s)
        print(f"run-time values (Solver.solve, alternated, best of {args.repeats}): {run_time_s:.4f} s, compiled in "
              f"{compiled_in_s:.4f} s: {cost['ratio'] - 1.0:+.1%}")

    results = {
        "benchmark": "cpu_lorenz",
        "machine": machine_info(args.threads),
        "problem": {
            "system": "lorenz",
            "sigma": SIGMA,
            "beta": BETA,
            "rho": f"linspace({RHO_RANGE[0]}, {RHO_RANGE[1]}, {args.runs})",
            "y0": Y0.tolist(),
            "t_span": list(T_SPAN),
            "rtol": RTOL,
            "atol": ATOL,
            "precision": "float64",
            "dt0_numba": DT0,
        },
        "runs": args.runs,
        "repeats": args.repeats,
        "scipy_runs": int(subset.size),
        "reference": {"method": "scipy DOP853", "tol": REFERENCE_TOL, "wall_s": reference_s},
        "results": rows,
        "runtime_values_cost": cost,
    }
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS_PATH}")


if __name__ == "__main__":
    main()
