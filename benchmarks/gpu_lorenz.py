"""GPU benchmark: the Lorenz ensemble on one GPU (the DiffEqGPU.jl workload).

Lorenz with rho = linspace(0, 21, N), initial state (1, 0, 0), t in [0, 1],
float32, final state only; N = 2^k for k in [--min-log2, --max-log2]:

- fixed dt = 1e-3 with tsit5 and classical-rk4,
- adaptive tsit5 at rtol = atol = 1e-8.

For each case it prints kernel-only milliseconds (device arrays already in
place, timed between synchronisations, best of --repeats) and end-to-end
milliseconds (``Solver.solve`` from numpy inputs to numpy results), and
writes ``benchmarks/results/gpu_lorenz.json``.

Run on a machine with an NVIDIA GPU:  python benchmarks/gpu_lorenz.py
(With NUMBA_ENABLE_CUDASIM=1 and tiny sizes it runs in the simulator, which
is only a smoke test of the script: its timings mean nothing.)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from numba import cuda

import batchode
from batchode.systems.examples import lorenz
from common import best_of, device_arguments, device_name, write_gpu_record

CASES = (
    ("tsit5 fixed dt=1e-3", dict(method="tsit5", step_controller="fixed", dt=1e-3)),
    ("rk4 fixed dt=1e-3", dict(method="classical-rk4", step_controller="fixed", dt=1e-3)),
    ("tsit5 adaptive 1e-8", dict(method="tsit5", rtol=1e-8, atol=1e-8)),
)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--min-log2", type=int, default=10)
    parser.add_argument("--max-log2", type=int, default=23)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", default=str(Path(__file__).parent / "results" / "gpu_lorenz.json"))
    options = parser.parse_args(argv)
    if not cuda.is_available():
        parser.error("no usable CUDA GPU (set NUMBA_ENABLE_CUDASIM=1 for a simulator smoke test)")
    rows = []
    print(f"Lorenz ensemble on {device_name()}")
    print(f"{'case':<22} {'N':>9} {'kernel ms':>10} {'end-to-end ms':>14} {'ok':>6}")
    for label, settings in CASES:
        solver = batchode.Solver(lorenz(), precision="float32", backend="cuda", **settings)
        solver.solve((0.0, 1.0), parameters={"rho": np.linspace(0.0, 21.0, 2)})  # compile
        for log2 in range(options.min_log2, options.max_log2 + 1):
            n = 2 ** log2
            rho = np.linspace(0.0, 21.0, n)
            kernel, args = device_arguments(solver, (0.0, 1.0), parameters={"rho": rho})
            kernel_ms = best_of(options.repeats, lambda: kernel.launch(n, args))
            result = None

            def end_to_end():
                nonlocal result
                result = solver.solve((0.0, 1.0), parameters={"rho": rho})

            total_ms = best_of(options.repeats, end_to_end)
            succeeded = int(result.success.sum())
            rows.append(dict(case=label, n=n, kernel_ms=kernel_ms, end_to_end_ms=total_ms, succeeded=succeeded))
            print(f"{label:<22} {n:>9} {kernel_ms:>10.3f} {total_ms:>14.3f} {succeeded:>6}")
    write_gpu_record(options.output, "gpu_lorenz", rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
