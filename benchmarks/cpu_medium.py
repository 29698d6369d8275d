"""CPU benchmark: systems of 20-200 states, batchode against scipy's fastest per-run loop.

Problems (float64, CPU backend, final state only, each at rtol = atol = each
of ``--rtols``):

- ``pleiades``: Hairer, Norsett & Wanner's seven-body problem
  (:func:`batchode.systems.examples.pleiades`, 28 states), t in [0, 3], the
  gravitational constant G swept over [0.95, 1.05]; dop853, vern7, tsit5;
- ``brusselator40`` and ``brusselator100``: Hairer & Wanner's 1-D
  Brusselator (:func:`batchode.systems.examples.brusselator` with 20 and 50
  cells), t in [0, 10], B swept over [2.8, 3.4]; rodas5p, radau-iia-5 and
  kvaerno5 with the default linear solver, and rodas5p with
  ``linear_solver="dense"``;
- ``kuramoto100``: the mean-field Kuramoto model of 100 oscillators from
  ``compile_latency.kuramoto`` (O(n) terms per equation), t in [0, 10], the
  coupling K swept over [1, 2]; tsit5.

Per row: batchode's warm time per run over the whole batch (the kernel is
first built by a 2-run solve, in a compile cache directory of the script's
own, so ``build s`` is a cold build; it is near 0 for a later tolerance,
which is a run-time setting and reuses the kernel); accepted plus rejected
steps, Newton and linear iterations per run; ``err/tol``, the largest
``|y - y_ref| / (atol + rtol |y_ref|)`` over the states of ``--reference-runs``
evenly spaced runs, against scipy's DOP853 at rtol = atol = 1e-13
(non-stiff) or Radau at 1e-12 with the analytic Jacobian (stiff); and scipy's
fastest per-run loop: ``scipy.integrate.solve_ivp`` called once per run on
``--scipy-runs`` evenly spaced runs with each of RK45, DOP853 and LSODA
(non-stiff) or Radau, BDF and LSODA (stiff, given a dense numpy Jacobian
through ``jac=``), vectorised numpy right-hand sides, at the same
tolerances. The fastest method's time per run, its name and its own
``err/tol`` are reported, with the speed-up (scipy's time / batchode's).
Every time (batchode's batch, each scipy loop) is the best of
``--repeats`` (3): single timings on a 2-core machine varied by up to 25 %
(radau-iia-5 at 40 states: 159-200 us per run in three runs).

The numpy right-hand sides and Jacobians are written independently of
batchode's generated code; the ``err/tol`` columns check them against each
other (a mismatch shows as a huge error on one side).

Run from the repository root::

    python benchmarks/cpu_medium.py [--problems pleiades ...] [--rtols 1e-6 1e-9] [--runs N] [--quick]

``--quick`` (a smoke test) runs Pleiades with tsit5 only, 20 runs, the
tightest of ``--rtols`` (1e-9), scipy and the reference on 2 runs. Prints a table and writes
``benchmarks/results/cpu_medium.json`` (``--output``).
"""

import argparse
import datetime
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numba
import numpy as np
from common import git_commit
from compile_latency import kuramoto
from scipy.integrate import solve_ivp as scipy_solve_ivp

import batchode
from batchode.systems.examples import brusselator, pleiades

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "cpu_medium.json"
NON_STIFF_SCIPY, STIFF_SCIPY = ("RK45", "DOP853", "LSODA"), ("Radau", "BDF", "LSODA")


def defaults(system) -> dict:
    """The system's parameter values by name (those the sweep leaves alone)."""
    return dict(zip(system.parameter_names, system.default_parameters))


def pleiades_numpy(system, G):
    """Vectorised right-hand side of Pleiades with gravitational constant ``G`` (no Jacobian: not stiff)."""
    masses = np.array([defaults(system)[f"m{i}"] for i in range(1, 8)])

    def rhs(t, state):
        x, y, vx, vy = state.reshape(4, 7)
        dx, dy = x[None, :] - x[:, None], y[None, :] - y[:, None]  # [i, j]: body j seen from body i
        distance2 = dx * dx + dy * dy
        np.fill_diagonal(distance2, np.inf)  # no self-attraction
        weight = masses[None, :] / distance2 ** 1.5
        return np.concatenate([vx, vy, G * (weight * dx).sum(axis=1), G * (weight * dy).sum(axis=1)])

    return rhs, None


def brusselator_numpy(system, B):
    """Vectorised right-hand side of the Brusselator with parameter ``B``, and its dense analytic Jacobian."""
    A, alpha = defaults(system)["A"], defaults(system)["alpha"]
    cells = system.n_states // 2
    diffusion = alpha * (cells + 1) ** 2
    laplacian = diffusion * (np.eye(cells, k=-1) - 2 * np.eye(cells) + np.eye(cells, k=1))

    def rhs(t, state):
        u, v = state[:cells], state[cells:]
        # Boundary values u = 1 and v = 3 at both ends.
        u_ends, v_ends = np.concatenate([[1.0], u, [1.0]]), np.concatenate([[3.0], v, [3.0]])
        du = A + u * u * v - (B + 1) * u + diffusion * (u_ends[:-2] - 2 * u + u_ends[2:])
        dv = B * u - u * u * v + diffusion * (v_ends[:-2] - 2 * v + v_ends[2:])
        return np.concatenate([du, dv])

    def jacobian(t, state):
        u, v = state[:cells], state[cells:]
        return np.block([[laplacian + np.diag(2 * u * v - (B + 1)), np.diag(u * u)],
                         [np.diag(B - 2 * u * v), laplacian - np.diag(u * u)]])

    return rhs, jacobian


def kuramoto_numpy(system, K):
    """Vectorised right-hand side of the mean-field Kuramoto model with coupling ``K`` (not stiff)."""
    n = system.n_states
    omega = np.array([defaults(system)[f"omega{i}"] for i in range(n)])

    def rhs(t, theta):
        sines, cosines = np.sin(theta), np.cos(theta)
        return omega + K / n * (sines.sum() * cosines - cosines.sum() * sines)

    return rhs, None


#: Name -> (system factory, t span, swept parameter, its range, default runs, stiff, numpy functions, rows);
#: a row is (label, method, extra settings).
PROBLEMS = {
    "pleiades": (pleiades, (0.0, 3.0), "G", (0.95, 1.05), 1000, False, pleiades_numpy,
                 [("dop853", "dop853", {}), ("vern7", "vern7", {}), ("tsit5", "tsit5", {})]),
    "brusselator40": (lambda: brusselator(20), (0.0, 10.0), "B", (2.8, 3.4), 1000, True, brusselator_numpy,
                      [("rodas5p", "rodas5p", {}), ("rodas5p dense", "rodas5p", {"linear_solver": "dense"}),
                      ("rodas5p gmres", "rodas5p", {"linear_solver": "gmres"}),
                       ("radau-iia-5", "radau-iia-5", {}),
                       ("radau-iia-5 dense", "radau-iia-5", {"linear_solver": "dense"}), ("kvaerno5", "kvaerno5", {})]),
    "brusselator100": (lambda: brusselator(50), (0.0, 10.0), "B", (2.8, 3.4), 200, True, brusselator_numpy,
                       [("rodas5p", "rodas5p", {}), ("rodas5p dense", "rodas5p", {"linear_solver": "dense"}),
                      ("rodas5p gmres", "rodas5p", {"linear_solver": "gmres"}),
                        ("radau-iia-5", "radau-iia-5", {}),
                        ("radau-iia-5 dense", "radau-iia-5", {"linear_solver": "dense"}),
                        ("kvaerno5", "kvaerno5", {})]),
    "kuramoto100": (lambda: kuramoto(100), (0.0, 10.0), "K", (1.0, 2.0), 1000, False, kuramoto_numpy,
                    [("tsit5", "tsit5", {})]),
}


def evenly_spaced(count: int, runs: int) -> np.ndarray:
    """Indices of ``count`` runs spread evenly over ``runs`` (all of them if fewer)."""
    return np.unique(np.linspace(0, runs - 1, min(count, runs)).round().astype(int))


def scipy_loop(system, numpy_functions, t_span, values, method, rtol, atol):
    """Seconds per run of ``scipy.integrate.solve_ivp`` called once per value, and the final states."""
    finals = []
    started = time.perf_counter()
    for value in values:
        rhs, jacobian = numpy_functions(system, value)
        # LSODA and the implicit methods take jac=; explicit ones warn about it.
        extra = {"jac": jacobian} if jacobian is not None else {}
        solution = scipy_solve_ivp(rhs, t_span, system.default_initial_state, method=method, rtol=rtol, atol=atol,
                                   **extra)
        if not solution.success:
            raise RuntimeError(f"scipy {method} failed at {value}: {solution.message}")
        finals.append(solution.y[:, -1])
    return (time.perf_counter() - started) / len(values), np.array(finals)


def error_over_tolerance(finals, reference, rtol, atol) -> float:
    """Largest ``|y - y_ref| / (atol + rtol |y_ref|)`` over runs and states."""
    return float((np.abs(finals - reference) / (atol + rtol * np.abs(reference))).max())


def best_of(repeats: int, measure):
    """``measure()`` (returning seconds first) ``repeats`` times: the fastest seconds and the last result."""
    outcomes = [measure() for _ in range(repeats)]
    return min(outcome[0] for outcome in outcomes), outcomes[-1][1]


def run_problem(name, rtols, runs, labels, scipy_runs, reference_runs, repeats=3) -> list:
    """The rows of problem ``name``: every batchode method in ``labels`` (None: all) at every tolerance."""
    factory, t_span, swept, (low, high), _, stiff, numpy_functions, configurations = PROBLEMS[name]
    system = factory()
    values = np.linspace(low, high, runs)
    checked, timed = evenly_spaced(reference_runs, runs), evenly_spaced(scipy_runs, runs)
    reference_method, reference_tolerance = ("Radau", 1e-12) if stiff else ("DOP853", 1e-13)
    _, reference = scipy_loop(system, numpy_functions, t_span, values[checked], reference_method,
                              reference_tolerance, reference_tolerance)
    scipy_rows = {}
    for rtol in rtols:
        per_method = {method: best_of(repeats, lambda method=method: scipy_loop(
                          system, numpy_functions, t_span, values[timed], method, rtol, rtol))[0]
                      for method in (STIFF_SCIPY if stiff else NON_STIFF_SCIPY)}
        fastest = min(per_method, key=per_method.get)
        _, finals = scipy_loop(system, numpy_functions, t_span, values[checked], fastest, rtol, rtol)
        scipy_rows[rtol] = dict(scipy_us_per_run={m: s * 1e6 for m, s in per_method.items()}, scipy_fastest=fastest,
                                scipy_fastest_us_per_run=per_method[fastest] * 1e6,
                                scipy_err_over_tol=error_over_tolerance(finals, reference, rtol, rtol))
    rows = []
    for label, method, settings in configurations:
        if labels is not None and label not in labels:
            continue
        solver = batchode.Solver(system, method=method, precision="float64", backend="cpu", save_time_series=False,
                                 **settings)
        for rtol in rtols:
            solver.update(rtol=rtol, atol=rtol)
            started = time.perf_counter()
            first = solver.solve(t_span, parameters={swept: values[:2]}, progress=False)
            first_solve_s = time.perf_counter() - started
            def timed_solve():
                started = time.perf_counter()
                solved = solver.solve(t_span, parameters={swept: values}, progress=False)
                return time.perf_counter() - started, solved

            seconds, result = best_of(repeats, timed_solve)
            row = dict(problem=name, n=system.n_states, method=label, rtol=rtol, atol=rtol, runs=runs,
                       us_per_run=seconds / runs * 1e6, build_s=first.compile_time, first_solve_s=first_solve_s,
                       succeeded=int(result.success.sum()),
                       steps=float((result.n_accepted + result.n_rejected).mean()),
                       rejected=float(result.n_rejected.mean()), newton=float(result.n_newton_iterations.mean()),
                       linear=float(result.n_linear_iterations.mean()),
                       err_over_tol=error_over_tolerance(result.y_final[checked], reference, rtol, rtol),
                       **scipy_rows[rtol])
            row["speedup"] = row["scipy_fastest_us_per_run"] / row["us_per_run"]
            rows.append(row)
            print(table_line(row), flush=True)
    return rows


def table_line(row) -> str:
    return (f"| {row['problem']} | {row['n']} | {row['method']} | {row['rtol']:.0e} | {row['runs']} | "
            f"{row['us_per_run']:.1f} | {row['build_s']:.1f} | {row['steps']:.1f} | {row['newton']:.1f} | "
            f"{row['linear']:.1f} | {row['err_over_tol']:.2g} | {row['succeeded']} | "
            f"{row['scipy_fastest']} {row['scipy_fastest_us_per_run']:.0f} | {row['scipy_err_over_tol']:.2g} | "
            f"{row['speedup']:.1f}x |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problems", nargs="+", choices=list(PROBLEMS), default=list(PROBLEMS))
    parser.add_argument("--rtols", type=float, nargs="+", default=[1e-6, 1e-9], help="rtol = atol of each row")
    parser.add_argument("--runs", type=int, help="runs per batch (default: per problem, 200 to 1000)")
    parser.add_argument("--methods", nargs="+", help="row labels to run (default: all of each problem's)")
    parser.add_argument("--scipy-runs", type=int, default=10, help="runs of each scipy loop")
    parser.add_argument("--reference-runs", type=int, default=4, help="runs checked against the reference")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timings are the best of this many (batchode's batch and each scipy loop)")
    parser.add_argument("--quick", action="store_true", help="smoke test: Pleiades, tsit5, 20 runs, the tightest rtol")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH)
    args = parser.parse_args(argv)
    if args.quick:
        args.problems, args.methods, args.runs, args.rtols = ["pleiades"], ["tsit5"], 20, [min(args.rtols)]
        args.scipy_runs, args.reference_runs, args.repeats = 2, 2, 1
    print(f"rtol = atol in {args.rtols}, float64, CPU ({numba.get_num_threads()} threads); scipy timed on "
          f"{args.scipy_runs} runs per method, err/tol on {args.reference_runs}; best of {args.repeats}")
    print("| problem | n | method | rtol | runs | us/run | build s | steps | newton | linear | err/tol | ok | "
          "scipy fastest us/run | scipy err/tol | speed-up |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    previous_cache = os.environ.get("BATCHODE_CACHE_DIR")
    rows = []
    # A compile cache of the script's own, empty at the start, so that build s is a cold build.
    with tempfile.TemporaryDirectory(prefix="batchode-cpu-medium-") as cache:
        os.environ["BATCHODE_CACHE_DIR"] = cache
        try:
            for name in args.problems:
                rows += run_problem(name, args.rtols, args.runs or PROBLEMS[name][4], args.methods, args.scipy_runs,
                                    args.reference_runs, args.repeats)
        finally:
            if previous_cache is None:
                os.environ.pop("BATCHODE_CACHE_DIR")
            else:
                os.environ["BATCHODE_CACHE_DIR"] = previous_cache
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(dict(
        benchmark="cpu_medium", date=datetime.date.today().isoformat(), commit=git_commit(),
        machine=platform.platform(), threads=numba.get_num_threads(), scipy_runs=args.scipy_runs,
        reference_runs=args.reference_runs, repeats=args.repeats, rows=rows), indent=2) + "\n")
    print(f"results written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
