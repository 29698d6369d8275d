"""CPU benchmark: dense LU against GMRES under Newton, by system size.

Where should the default switch from a dense LU to matrix-free GMRES? A
stiff reaction-diffusion chain of n cells,

    dy_i = D (y_{i-1} - 2 y_i + y_{i+1}) - k y_i**2 + s_i,

with zero-flux ends, D swept over the runs (the stiffness grows with D),
k = 1 and a source s_i = 1 / (i + 1), from y = 0, t in [0, 1], is
integrated with kvaerno3 (DIRK -> Newton -> linear solver) at rtol = atol =
1e-6, float64, on the CPU backend, with ``linear_solver="dense"``, with
``"gmres"``, and with GMRES right-preconditioned by ``"jacobi"`` and by
``"neumann"`` (two terms), for several n. Timings are warm (compiled on a
tiny batch first); compile times are reported too, because they grow with n
for the dense Jacobian. ``lin/newt`` is the mean number of linear
iterations per Newton iteration (one per solve for the dense LU); a Neumann
iteration costs three Jacobian-vector products, the others one. The chain's
diagonal is nearly constant (-2D), so Jacobi is close to a scalar scaling
here, the case where it cannot help.

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


#: (label, linear solver, preconditioner) of each row.
CONFIGURATIONS = [("dense", "dense", None), ("gmres", "gmres", None), ("gmres+jacobi", "gmres", "jacobi"),
                  ("gmres+neumann", "gmres", "neumann")]


def measure(n: int, label: str, linear_solver: str, preconditioner, runs: int) -> dict:
    extra = {} if preconditioner is None else {"loop_algorithm_newton_linear_preconditioner": preconditioner}
    solver = batchode.Solver(chain(n), method="kvaerno3", rtol=1e-6, atol=1e-6, linear_solver=linear_solver,
                             backend="cpu", **extra)
    sweep = {"D": np.linspace(10.0, 1000.0, runs)}
    started = time.perf_counter()
    solver.solve((0.0, 1.0), parameters={"D": sweep["D"][:2]})
    compile_seconds = time.perf_counter() - started
    started = time.perf_counter()
    result = solver.solve((0.0, 1.0), parameters=sweep, progress=False)
    seconds = time.perf_counter() - started
    return dict(n=n, linear_solver=label, seconds=seconds, us_per_run=seconds / runs * 1e6,
                compile_seconds=compile_seconds, succeeded=int(result.success.sum()),
                steps=float(result.n_accepted.mean()), newton=float(result.n_newton_iterations.mean()),
                linear=float(result.n_linear_iterations.mean()),
                linear_per_newton=float((result.n_linear_iterations / result.n_newton_iterations).mean()),
                final=result.final_state)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2, 4, 8, 12, 16])
    args = parser.parse_args(argv)
    rows = []
    print(f"Reaction-diffusion chain, {args.runs} runs, kvaerno3 1e-6, float64, CPU ({numba.get_num_threads()} "
          "threads)")
    print(f"{'n':>3} {'solver':>13} {'us/run':>9} {'compile s':>9} {'steps':>7} {'newton':>7} {'linear it':>9} "
          f"{'lin/newt':>8} {'ok':>6} {'max diff':>9}")
    for n in args.sizes:
        group = [measure(n, *configuration, args.runs) for configuration in CONFIGURATIONS]
        dense = group[0]["final"]
        for row in group:
            # Largest difference of the final states from the dense LU's.
            difference = float(np.abs(row.pop("final") - dense).max())
            row["max_difference_from_dense"] = difference
            rows.append(row)
            print(f"{n:>3} {row['linear_solver']:>13} {row['us_per_run']:9.1f} {row['compile_seconds']:9.1f} "
                  f"{row['steps']:7.1f} {row['newton']:7.1f} {row['linear']:9.1f} {row['linear_per_newton']:8.2f} "
                  f"{row['succeeded']:6d} {difference:9.1e}")
    RESULTS_PATH.parent.mkdir(exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(dict(
        date=datetime.date.today().isoformat(), commit=git_commit(), machine=platform.platform(),
        runs=args.runs, results=rows), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
