"""CPU benchmark: dense LU against GMRES under Newton, by system size.

Where should the default switch from a dense LU to matrix-free GMRES? A
stiff reaction-diffusion chain of n cells,

    dy_i = D (y_{i-1} - 2 y_i + y_{i+1}) - k y_i**2 + s_i,

with zero-flux ends, D swept over the runs (the stiffness grows with D),
k = 1 and a source s_i = 1 / (i + 1), from y = 0, t in [0, 1], is
integrated with kvaerno3 (DIRK -> Newton -> linear solver) at rtol = atol =
1e-6, float64, on the CPU backend, once with ``linear_solver="dense"`` and
once with ``"gmres"``, for several n. Timings are warm (compiled on a tiny
batch first); compile times are reported too, because they grow with n for
the dense Jacobian.

Run from the repository root::

    python benchmarks/cpu_linear_solvers.py --runs 2000

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


def measure(n: int, linear_solver: str, runs: int) -> dict:
    solver = batchode.Solver(chain(n), method="kvaerno3", rtol=1e-6, atol=1e-6, linear_solver=linear_solver,
                             backend="cpu")
    sweep = {"D": np.linspace(10.0, 1000.0, runs)}
    started = time.perf_counter()
    solver.solve((0.0, 1.0), parameters={"D": sweep["D"][:2]})
    compile_seconds = time.perf_counter() - started
    started = time.perf_counter()
    result = solver.solve((0.0, 1.0), parameters=sweep, progress=False)
    seconds = time.perf_counter() - started
    return dict(n=n, linear_solver=linear_solver, seconds=seconds, us_per_run=seconds / runs * 1e6,
                compile_seconds=compile_seconds, succeeded=int(result.success.sum()),
                steps=float(result.n_accepted.mean()), newton=float(result.n_newton_iterations.mean()),
                linear=float(result.n_linear_iterations.mean()), final=result.final_state)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2, 4, 8, 12, 16])
    args = parser.parse_args(argv)
    rows = []
    print(f"Reaction-diffusion chain, {args.runs} runs, kvaerno3 1e-6, float64, CPU ({numba.get_num_threads()} "
          "threads)")
    print(f"{'n':>3} {'solver':>6} {'us/run':>9} {'compile s':>9} {'steps':>7} {'newton':>7} {'linear it':>9} "
          f"{'ok':>6} {'max diff':>9}")
    for n in args.sizes:
        pair = [measure(n, solver, args.runs) for solver in ("dense", "gmres")]
        difference = float(np.abs(pair[0].pop("final") - pair[1].pop("final")).max())
        for row in pair:
            row["max_difference_dense_gmres"] = difference
            rows.append(row)
            print(f"{n:>3} {row['linear_solver']:>6} {row['us_per_run']:9.1f} {row['compile_seconds']:9.1f} "
                  f"{row['steps']:7.1f} {row['newton']:7.1f} {row['linear']:9.1f} {row['succeeded']:6d} "
                  f"{difference:9.1e}")
    RESULTS_PATH.parent.mkdir(exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(dict(
        date=datetime.date.today().isoformat(), commit=git_commit(), machine=platform.platform(),
        runs=args.runs, results=rows), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
