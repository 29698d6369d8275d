"""GPU benchmark: chunked sweeps with and without overlapped transfers.

Lorenz with rho = linspace(0, 21, N), t in [0, --t-end] (default 10), saved
every 0.01 (1001 rows of 3 float32 states per run: about 12 kB), adaptive tsit5 at
rtol = atol = 1e-6, split into chunks of --chunk-runs runs. Times
``Solver.solve`` end to end (numpy in, numpy out, best of --repeats):

- ``one chunk``: the whole sweep in one launch (skipped when it does not fit);
- ``sequential``: one chunk in flight (copy up, compute, copy down, repeat);
- ``streamed``: two chunks in flight on their own streams (the default), so
  one chunk's copies and the host's handling of its results overlap the
  next chunk's compute.

It checks that the three give identical arrays, and prints the output
bandwidth each achieved. Run on a machine with an NVIDIA GPU:
``python benchmarks/gpu_chunks.py``; writes ``benchmarks/results/gpu_chunks.json``.
(With NUMBA_ENABLE_CUDASIM=1 and tiny sizes: a smoke test, timings meaningless.)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from numba import cuda

import batchode
from batchode.systems.examples import lorenz
from common import best_of, device_name, write_gpu_record

SAVE_EVERY = 0.01


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1 << 20)
    parser.add_argument("--chunk-runs", type=int, default=1 << 17)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--t-end", type=float, default=10.0)
    parser.add_argument("--output", default=str(Path(__file__).parent / "results" / "gpu_chunks.json"))
    options = parser.parse_args(argv)
    span = (0.0, options.t_end)
    if not cuda.is_available():
        parser.error("no usable CUDA GPU (set NUMBA_ENABLE_CUDASIM=1 for a simulator smoke test)")
    solver = batchode.Solver(lorenz(), precision="float32", backend="cuda", rtol=1e-6, atol=1e-6)
    parameters = {"rho": np.linspace(0.0, 21.0, options.runs)}
    solver.solve(span, parameters={"rho": [1.0, 2.0]}, save_every=SAVE_EVERY, progress=False)  # compile
    backend = solver.kernel.backend
    streamed_depth = backend.chunks_in_flight
    modes = (("one chunk", streamed_depth, None), ("sequential", 1, options.chunk_runs),
             ("streamed", streamed_depth, options.chunk_runs))
    rows, first = [], None
    print(f"Lorenz, {options.runs} runs x {round(options.t_end / SAVE_EVERY) + 1} saved rows, chunks of {options.chunk_runs} runs, float32, "
          f"on {device_name()}")
    print(f"{'mode':<12} {'chunks':>7} {'end-to-end ms':>14} {'output GB/s':>12} {'identical':>10}")
    try:
        for label, depth, chunk_runs in modes:
            backend.chunks_in_flight = depth
            result = None

            def solve():
                nonlocal result
                result = solver.solve(span, parameters=parameters, save_every=SAVE_EVERY, chunk_runs=chunk_runs,
                                      progress=False)

            try:
                milliseconds = best_of(options.repeats, solve)
            except MemoryError as error:
                print(f"{label:<12} skipped: {error}")
                continue
            first = result if first is None else first
            identical = bool(np.array_equal(result.y, first.y, equal_nan=True))
            gigabytes = result.y.nbytes / 1e9
            rows.append(dict(mode=label, chunks=result.chunks_computed, chunks_in_flight=depth,
                             end_to_end_ms=milliseconds, output_gb=gigabytes, identical=identical))
            print(f"{label:<12} {result.chunks_computed:>7} {milliseconds:>14.1f} "
                  f"{gigabytes / milliseconds * 1e3:>12.2f} {str(identical):>10}")
    finally:
        backend.chunks_in_flight = streamed_depth
    write_gpu_record(options.output, "gpu_chunks", rows, runs=options.runs, chunk_runs=options.chunk_runs)
    return 0 if all(row["identical"] for row in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
