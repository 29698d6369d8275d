"""CPU benchmark: a stiff Robertson sweep, batchode against scipy per trajectory.

Robertson (k1 = 0.04, k2 = 3e7, k3 = linspace(1e3, 1e4, N)), (1, 0, 0), t in
[0, 1e5], rtol = 1e-6, atol = 1e-10, float64, final state only:

- ``scipy.integrate.solve_ivp`` once per trajectory with Radau, BDF and
  LSODA, given the exact Jacobian (as batchode's methods get it), timed on
  an evenly spaced subset of the sweep and extrapolated to N;
- ``batchode.solve_ivp`` with rodas4 and radau_iia_5 on the CPU backend,
  timed warm (compiled on a tiny batch first).

Accuracy on the subset against scipy Radau at rtol = 1e-10, atol = 1e-14,
as max |y - y_ref| / max |y_ref| per run (the median and worst over runs).

Run from the repository root::

    python benchmarks/cpu_stiff.py --runs 10000 --scipy-runs 40

Prints a table and writes ``benchmarks/results/cpu_stiff.json``.
"""

import argparse
import datetime
import json
import platform
import time
from pathlib import Path

import numba
import numpy as np
from common import git_commit
from scipy.integrate import solve_ivp as scipy_solve_ivp

import batchode
from batchode.systems.examples import robertson

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "cpu_stiff.json"
SPAN, RTOL, ATOL = (0.0, 1e5), 1e-6, 1e-10
K1, K2 = 0.04, 3e7


def scipy_problem(k3):
    def rhs(t, y):
        return [-K1 * y[0] + k3 * y[1] * y[2], K1 * y[0] - k3 * y[1] * y[2] - K2 * y[1] ** 2, K2 * y[1] ** 2]

    def jacobian(t, y):
        return [[-K1, k3 * y[2], k3 * y[1]],
                [K1, -k3 * y[2] - 2 * K2 * y[1], -k3 * y[1]],
                [0.0, 2 * K2 * y[1], 0.0]]

    return rhs, jacobian


def run_scipy(k3_values, method, rtol, atol):
    finals = []
    started = time.perf_counter()
    for k3 in k3_values:
        rhs, jacobian = scipy_problem(k3)
        solution = scipy_solve_ivp(rhs, SPAN, [1.0, 0.0, 0.0], method=method, rtol=rtol, atol=atol, jac=jacobian)
        finals.append(solution.y[:, -1])
    return time.perf_counter() - started, np.array(finals)


def run_batchode(k3_values, method):
    solver = batchode.Solver(robertson(), method=method, rtol=RTOL, atol=ATOL, precision="float64", backend="cpu")
    started = time.perf_counter()
    solver.solve(SPAN, parameters={"k3": k3_values[:4]})
    compile_seconds = time.perf_counter() - started
    started = time.perf_counter()
    result = solver.solve(SPAN, parameters={"k3": k3_values}, progress=False)
    return time.perf_counter() - started, result, compile_seconds


def errors(finals, reference):
    relative = np.abs(finals - reference).max(axis=1) / np.abs(reference).max(axis=1)
    return float(np.median(relative)), float(relative.max())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--scipy-runs", type=int, default=40)
    args = parser.parse_args(argv)
    k3 = np.linspace(1e3, 1e4, args.runs)
    subset = np.linspace(0, args.runs - 1, args.scipy_runs).round().astype(int)
    _, reference = run_scipy(k3[subset], "Radau", 1e-10, 1e-14)
    rows = []
    for method in ("Radau", "BDF", "LSODA"):
        seconds, finals = run_scipy(k3[subset], method, RTOL, ATOL)
        rows.append(dict(method=f"scipy {method} loop", seconds=seconds * args.runs / args.scipy_runs,
                         errors=errors(finals, reference), extrapolated=True))
    for method in ("rodas4", "radau_iia_5"):
        seconds, result, compile_seconds = run_batchode(k3, method)
        rows.append(dict(method=f"batchode {method}", seconds=seconds, errors=errors(result.final_state[subset],
                                                                                  reference),
                         compile_seconds=compile_seconds, succeeded=int(result.success.sum()),
                         mean_steps=float(result.n_accepted.mean() + result.n_rejected.mean()),
                         mean_newton=float(result.n_newton_iterations.mean())))
    fastest_scipy = min(row["seconds"] for row in rows if row["method"].startswith("scipy"))
    print(f"Robertson, {args.runs} runs (k3 in [1e3, 1e4]), t in [0, 1e5], rtol {RTOL}, atol {ATOL}, float64, "
          f"CPU ({numba.get_num_threads()} threads); scipy timed on {args.scipy_runs} runs and extrapolated")
    print(f"{'method':<24} {'wall s':>9} {'us/run':>9} {'vs fastest scipy':>17} {'median err':>11} {'max err':>9}")
    for row in rows:
        row["speedup_vs_fastest_scipy"] = fastest_scipy / row["seconds"]
        median, worst = row["errors"]
        print(f"{row['method']:<24} {row['seconds']:9.3f} {row['seconds'] / args.runs * 1e6:9.1f} "
              f"{row['speedup_vs_fastest_scipy']:16.1f}x {median:11.1e} {worst:9.1e}")
    RESULTS_PATH.parent.mkdir(exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(dict(
        date=datetime.date.today().isoformat(), commit=git_commit(), machine=platform.platform(),
        runs=args.runs, scipy_runs=args.scipy_runs, threads=numba.get_num_threads(), results=rows), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
