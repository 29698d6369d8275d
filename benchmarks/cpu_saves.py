"""CPU benchmark: what saving a time series costs, interpolated or stepped onto.

Lorenz (sigma 10, beta 8/3), rho = linspace(0, 28, N), (1, 0, 0), t in
[0, 10], Tsit5 at rtol = atol = 1e-6, float64, on the CPU backend:

- "end state only": no saves but the end of the span;
- "1001 saves, interpolated": ``save_every=0.01``, filled from Tsit5's own
  interpolant (the default): the steps are those of the first case;
- "1001 saves, stepped onto": the same with ``step_to_saves=True``, every
  step shortened to land on the next save time (batchode before the
  interpolants).

Each row: mean accepted steps per run, the wall time of the solve (warm:
compiled on a tiny batch first; best of ``--repeats``) and its ratio to the
end-state case. The target for interpolated saves is the same steps and at
most 1.5x the time.

Run from the repository root::

    python benchmarks/cpu_saves.py --runs 10000

Prints a table and writes ``benchmarks/results/cpu_saves.json``.
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
from batchode.systems.examples import lorenz

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "cpu_saves.json"
CASES = {
    "end state only": (dict(), dict()),
    "1001 saves, interpolated": (dict(), dict(save_every=0.01)),
    "1001 saves, stepped onto": (dict(step_to_saves=True), dict(save_every=0.01)),
}


def time_case(settings: dict, batch: dict, runs: int, repeats: int) -> dict:
    """Compile on a tiny batch, then time the full one (best of ``repeats``)."""
    solver = batchode.Solver(lorenz(), method="tsit5", rtol=1e-6, atol=1e-6, precision="float64", backend="cpu",
                             **settings)
    solver.solve((0.0, 10.0), parameters={"rho": np.linspace(0.0, 28.0, 4)}, **batch)
    rho = {"rho": np.linspace(0.0, 28.0, runs)}
    best, result = np.inf, None
    for _ in range(repeats):
        started = time.perf_counter()
        result = solver.solve((0.0, 10.0), parameters=rho, progress=False, **batch)
        best = min(best, time.perf_counter() - started)
    return dict(seconds=best, mean_accepted_steps=float(result.n_accepted.mean()),
                succeeded=int(result.success.sum()), final_state=result.final_state)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    rows = []
    for name, (settings, batch) in CASES.items():
        measured = time_case(settings, batch, args.runs, args.repeats)
        rows.append(dict(case=name, **measured))
    base = rows[0]
    print(f"Lorenz, {args.runs} runs, t in [0, 10], tsit5 1e-6, float64, CPU ({numba.get_num_threads()} threads)")
    print(f"{'case':<26} {'steps/run':>10} {'wall s':>8} {'x end-only':>11} {'same end state':>15} {'ok':>7}")
    for row in rows:
        same = bool(np.array_equal(row["final_state"], base["final_state"]))
        row.update(ratio=row["seconds"] / base["seconds"], same_final_state=same)
        print(f"{row['case']:<26} {row['mean_accepted_steps']:10.1f} {row['seconds']:8.3f} {row['ratio']:11.2f} "
              f"{str(same):>15} {row['succeeded']:7d}")
    for row in rows:
        del row["final_state"]
    RESULTS_PATH.parent.mkdir(exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(dict(
        date=datetime.date.today().isoformat(), commit=git_commit(), machine=platform.platform(),
        python=platform.python_version(), threads=numba.get_num_threads(), runs=args.runs, results=rows),
        indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
