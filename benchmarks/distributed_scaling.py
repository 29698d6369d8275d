"""Dask scaling: one worker against two, and the overhead of one chunk.

- Scaling: a CPU-heavy Lorenz sweep (rho = linspace(0, 28, N), t in
  [0, 100], Tsit5 at 1e-8, float64, final state only) on a LocalCluster of
  1 and of 2 worker processes with one thread each, 8 chunks per worker.
  Each cluster first solves a tiny sweep so that every worker has compiled.
- Overhead: many chunks of one run over t in [0, 1e-3] (no real work), so
  the wall time per chunk is what scheduling, shipping the inputs and
  gathering the outputs cost.

From those numbers it projects the speed-up of a cluster of many GPUs, as a
table: with chunk compute time C and overhead o per chunk handled by the
one client, W workers reach W / (1 + W o / C) at best (the client's
per-chunk work serialises), until W o approaches C.

Run from the repository root::

    python benchmarks/distributed_scaling.py --runs 20000

Prints tables and writes ``benchmarks/results/distributed_scaling.json``.
"""

import argparse
import datetime
import json
import platform
import time
from pathlib import Path

import numpy as np

import batchode
from batchode.systems.examples import lorenz
from common import git_commit

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "distributed_scaling.json"


def cluster(workers: int):
    from distributed import Client, LocalCluster

    local = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                         dashboard_address=None, worker_dashboard_address=None)
    return local, Client(local)


def timed_sweep(client, solver, runs: int, chunks: int, t_end: float) -> float:
    rho = {"rho": np.linspace(0.0, 28.0, runs)}
    solver.solve((0.0, 1e-3), parameters={"rho": np.linspace(0.0, 28.0, 64)}, chunk_runs=1, client=client,
                 progress=False)  # every worker compiles
    started = time.perf_counter()
    result = solver.solve((0.0, t_end), parameters=rho, chunk_runs=-(-runs // chunks), client=client, progress=False)
    seconds = time.perf_counter() - started
    assert result.success.all()
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20_000)
    parser.add_argument("--overhead-chunks", type=int, default=400)
    args = parser.parse_args(argv)
    solver = batchode.Solver(lorenz(), method="tsit5", rtol=1e-8, atol=1e-8, backend="cpu")
    rows = []
    for workers in (1, 2):
        local, client = cluster(workers)
        try:
            seconds = timed_sweep(client, solver, args.runs, 8 * workers, 100.0)
            started = time.perf_counter()
            solver.solve((0.0, 1e-3), parameters={"rho": np.linspace(0.0, 28.0, args.overhead_chunks)},
                         chunk_runs=1, client=client, progress=False)
            overhead_ms = (time.perf_counter() - started) / args.overhead_chunks * 1e3
        finally:
            client.close()
            local.close()
        rows.append(dict(workers=workers, seconds=seconds, chunks=8 * workers, overhead_ms_per_chunk=overhead_ms))
    speedup = rows[0]["seconds"] / rows[1]["seconds"]
    print(f"Lorenz, {args.runs} runs, t in [0, 100], tsit5 1e-8, float64, CPU workers of 1 thread "
          f"({platform.node()}, 2 cores)")
    print(f"{'workers':>7} {'chunks':>6} {'wall s':>8} {'speed-up':>8} {'overhead ms/chunk':>18}")
    for row in rows:
        print(f"{row['workers']:>7} {row['chunks']:>6} {row['seconds']:8.2f} "
              f"{rows[0]['seconds'] / row['seconds']:8.2f} {row['overhead_ms_per_chunk']:18.2f}")
    overhead_s = max(row["overhead_ms_per_chunk"] for row in rows) / 1e3
    projection = []
    print(f"\nProjection for 8 nodes x 8 GPUs (64 workers), overhead {overhead_s * 1e3:.1f} ms per chunk:")
    print(f"{'chunk compute s':>15} {'speed-up (ideal 64)':>20} {'efficiency':>10}")
    for compute in (0.1, 1.0, 10.0, 60.0):
        ideal = 64 / (1 + 64 * overhead_s / compute)
        projection.append(dict(chunk_compute_s=compute, speedup=ideal, efficiency=ideal / 64))
        print(f"{compute:15.1f} {ideal:20.1f} {ideal / 64:10.0%}")
    RESULTS_PATH.parent.mkdir(exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(dict(
        date=datetime.date.today().isoformat(), commit=git_commit(), machine=platform.platform(),
        runs=args.runs, results=rows, speedup_2_over_1=speedup, projection_64_workers=projection), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
