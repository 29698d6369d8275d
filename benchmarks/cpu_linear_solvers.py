"""CPU benchmark: dense and sparse LU against GMRES, by system size, method family and precision.

Where should the default switch from a dense LU to matrix-free GMRES? Two
stiff problems of n states, each swept over its runs:

- ``brusselator`` (the default): Hairer & Wanner's 1-D Brusselator
  (:func:`batchode.systems.examples.brusselator`, n / 2 cells), B swept
  from 2.8 to 3.4, t in [0, 10];
- ``chain``: a reaction-diffusion chain of n cells,
  ``dy_i = D (y_{i-1} - 2 y_i + y_{i+1}) - k y_i**2 + s_i`` with zero-flux
  ends, D swept from 10 to 1000 (the stiffness grows with D), k = 1, a
  source s_i = 1 / (i + 1), from y = 0, t in [0, 1].

Each is integrated at rtol = atol = ``--rtol`` on the CPU backend by each
``--methods`` (a Rosenbrock method solves one linear system per stage; a
DIRK method one per Newton iteration) in each ``--precisions``, with
``linear_solver="dense"``, with ``"sparse"`` (the LU on the Jacobian's
sparsity pattern), with ``"gmres"`` (its default tolerance, derived from
rtol and the precision), and with GMRES right-preconditioned by
``"jacobi"`` and by ``"neumann"`` (two terms). Timings are warm (compiled on
a tiny batch first); compile times are reported too. ``lin/solve`` is the
mean number of GMRES iterations per linear solve for a Rosenbrock method
(per Newton iteration for a DIRK one): 1 for the LUs. A Neumann
iteration costs three Jacobian-vector products, the others one.

Run from the repository root::

    python benchmarks/cpu_linear_solvers.py --runs 2000 --sizes 8 16 32 48 64

Prints a table and writes ``benchmarks/results/cpu_linear_solvers.json``.
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

import batchode
from batchode.systems.examples import brusselator

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "cpu_linear_solvers.json"


def chain(n: int) -> batchode.ODESystem:
    """The reaction-diffusion chain of ``n`` cells (see the module docstring)."""
    lines = []
    for i in range(n):
        left = f"y{i - 1}" if i > 0 else f"y{i}"
        right = f"y{i + 1}" if i < n - 1 else f"y{i}"
        lines.append(f"dy{i} = D * ({left} - 2*y{i} + {right}) - k * y{i}**2 + {1.0 / (i + 1)!r}")
    return batchode.ODESystem.from_equations("\n".join(lines), parameters={"D": 100.0, "k": 1.0},
                                             initial_state={f"y{i}": 0.0 for i in range(n)})


#: (label, linear solver, preconditioner) of each row.
CONFIGURATIONS = [("dense", "dense", None), ("sparse", "sparse", None), ("gmres", "gmres", None),
                  ("gmres+jacobi", "gmres", "jacobi"),
                  ("gmres+neumann", "gmres", "neumann")]


def problem(name: str, n: int, runs: int):
    """``(system, t_span, sweep)`` of problem ``name`` with ``n`` states and ``runs`` runs."""
    if name == "chain":
        return chain(n), (0.0, 1.0), {"D": np.linspace(10.0, 1000.0, runs)}
    return brusselator(n // 2), (0.0, 10.0), {"B": np.linspace(2.8, 3.4, runs)}


def measure(name: str, n: int, method: str, precision: str, rtol: float, configuration: tuple, runs: int) -> dict:
    label, linear_solver, preconditioner = configuration
    system, t_span, sweep = problem(name, n, runs)
    solver = batchode.Solver(system, method=method, rtol=rtol, atol=rtol, linear_solver=linear_solver,
                             preconditioner=preconditioner, precision=precision, backend="cpu",
                             save_time_series=False)
    started = time.perf_counter()
    solver.solve(t_span, parameters={key: values[:2] for key, values in sweep.items()}, progress=False)
    compile_seconds = time.perf_counter() - started
    started = time.perf_counter()
    result = solver.solve(t_span, parameters=sweep, progress=False)
    seconds = time.perf_counter() - started
    # Linear solves: one per Newton iteration (DIRK), one per stage and step attempt (Rosenbrock).
    attempts = result.n_accepted + result.n_rejected
    solves = result.n_newton_iterations if result.n_newton_iterations.any() else \
        attempts * solver.loop.child("algorithm").tableau.stages
    return dict(problem=name, n=n, method=method, precision=precision, linear_solver=label, seconds=seconds,
                us_per_run=seconds / runs * 1e6, compile_seconds=compile_seconds,
                succeeded=int(result.success.sum()), steps=float(attempts.mean()),
                newton=float(result.n_newton_iterations.mean()), linear=float(result.n_linear_iterations.mean()),
                linear_per_solve=float((result.n_linear_iterations / solves).mean()),
                final=result.y_final.astype(np.float64))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 32, 48, 64])
    parser.add_argument("--problem", choices=("brusselator", "chain"), default="brusselator")
    parser.add_argument("--methods", nargs="+", default=["rodas5p", "kvaerno5"])
    parser.add_argument("--precisions", nargs="+", default=["float64", "float32"])
    parser.add_argument("--rtol", type=float, default=1e-6)
    parser.add_argument("--solvers", nargs="+", default=[label for label, *_ in CONFIGURATIONS],
                        choices=[label for label, *_ in CONFIGURATIONS])
    args = parser.parse_args(argv)
    configurations = [c for c in CONFIGURATIONS if c[0] in args.solvers]
    rows = []
    print(f"{args.problem}, {args.runs} runs, rtol = atol = {args.rtol:g}, CPU ({numba.get_num_threads()} threads)")
    print(f"{'n':>3} {'method':>9} {'precision':>9} {'solver':>13} {'us/run':>9} {'compile s':>9} {'steps':>7} "
          f"{'newton':>7} {'lin/solve':>9} {'ok':>6} {'max diff':>9}")
    for n in args.sizes:
        for method in args.methods:
            for precision in args.precisions:
                group = [measure(args.problem, n, method, precision, args.rtol, configuration, args.runs)
                         for configuration in configurations]
                first = group[0]["final"]
                for row in group:
                    # Largest difference of the final states from the first solver's (the dense LU's).
                    difference = float(np.abs(row.pop("final") - first).max())
                    row["max_difference_from_first"] = difference
                    rows.append(row)
                    print(f"{n:>3} {method:>9} {precision:>9} {row['linear_solver']:>13} {row['us_per_run']:9.1f} "
                          f"{row['compile_seconds']:9.1f} {row['steps']:7.1f} {row['newton']:7.1f} "
                          f"{row['linear_per_solve']:9.2f} {row['succeeded']:6d} {difference:9.1e}", flush=True)
    RESULTS_PATH.parent.mkdir(exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(dict(
        date=datetime.date.today().isoformat(), commit=git_commit(), machine=platform.platform(),
        runs=args.runs, problem=args.problem, rtol=args.rtol, results=rows), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
