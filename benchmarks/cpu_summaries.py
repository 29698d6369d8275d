"""CPU benchmark: summaries only versus the full time series, Lorenz sweep.

Lorenz (sigma 10, beta 8/3), rho = linspace(0, 28, N), (1, 0, 0), t in
[0, 10], saved (or sampled) every 0.01, Tsit5 at rtol = atol = 1e-6,
float64, on the CPU backend:

- "full series": every state at all 1001 save times (``y`` is N x 1001 x 3);
- "summaries only": ``save_time_series=False`` with mean, std, extrema and
  peaks[4] of every state over the whole run, taken over the same samples.

Each case runs in its own process: it compiles on a tiny batch, then times
the full batch. Peak memory is reported two ways: the largest block of
Python/numpy allocations during the timed solve (``tracemalloc``), and the
process's peak resident set (which includes numba and its compiler).

Run from the repository root::

    python benchmarks/cpu_summaries.py --runs 100000

Prints a table and writes ``benchmarks/results/cpu_summaries.json``.
"""

import argparse
import datetime
import json
import platform
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
from common import git_commit

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "cpu_summaries.json"
CASES = {
    "full series": dict(),
    "summaries only": dict(save_time_series=False, summaries=["mean", "std", "extrema", "peaks[4]"]),
}


def run_case(name: str, runs: int) -> dict:
    """Time one case in this process; return its measurements."""
    import numba

    import batchode
    from batchode.systems.examples import lorenz

    solver = batchode.Solver(lorenz(), method="tsit5", rtol=1e-6, atol=1e-6, precision="float64",
                             backend="cpu", **CASES[name])
    started = time.perf_counter()
    solver.solve((0.0, 10.0), parameters={"rho": np.linspace(0.0, 28.0, 4)}, save_every=0.01)
    compile_seconds = time.perf_counter() - started
    rho = {"rho": np.linspace(0.0, 28.0, runs)}
    tracemalloc.start()
    started = time.perf_counter()
    result = solver.solve((0.0, 10.0), parameters=rho, save_every=0.01, progress=False)
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    output_bytes = result.y.nbytes + sum(values.nbytes for values in result.summaries.values())
    return dict(case=name, runs=runs, seconds=seconds, us_per_run=seconds / runs * 1e6,
                compile_seconds=compile_seconds, traced_peak_mib=peak / 2**20, output_mib=output_bytes / 2**20,
                max_rss_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                succeeded=int(result.success.sum()), threads=numba.get_num_threads(),
                mean_accepted_steps=float(result.n_accepted.mean()))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--case", choices=sorted(CASES), help=argparse.SUPPRESS)  # one case, in a child process
    args = parser.parse_args(argv)
    if args.case:
        print(json.dumps(run_case(args.case, args.runs)))
        return 0
    rows = []
    for name in CASES:
        child = subprocess.run([sys.executable, __file__, "--runs", str(args.runs), "--case", name],
                               capture_output=True, text=True, check=True)
        rows.append(json.loads(child.stdout.strip().splitlines()[-1]))
    print(f"Lorenz, {args.runs} runs, t in [0, 10], samples every 0.01, tsit5 1e-6, float64, CPU "
          f"({rows[0]['threads']} threads)")
    print(f"{'case':<16} {'wall s':>8} {'us/run':>8} {'output MiB':>11} {'traced peak MiB':>16} "
          f"{'max RSS MiB':>12} {'ok':>7}")
    for row in rows:
        print(f"{row['case']:<16} {row['seconds']:8.2f} {row['us_per_run']:8.1f} {row['output_mib']:11.1f} "
              f"{row['traced_peak_mib']:16.1f} {row['max_rss_mib']:12.0f} {row['succeeded']:7d}")
    RESULTS_PATH.parent.mkdir(exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(dict(
        date=datetime.date.today().isoformat(), commit=git_commit(), machine=platform.platform(),
        python=platform.python_version(), results=rows), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
