"""GPU benchmark: a stiff Robertson sweep on one GPU.

Robertson (k1 = 0.04, k2 = 3e7, k3 = linspace(0, 1e4, N)), initial state
(1, 0, 0), t in [0, 1e5], float32, rtol = 1e-4, atol = 1e-8, final state
only; N = 2^k for k in [--min-log2, --max-log2]; methods rodas4 (Rosenbrock),
radau_iia_5 (FIRK) and kvaerno5 (ESDIRK), each with the dense LU.

For each case it prints kernel-only milliseconds (device arrays in place,
best of --repeats), end-to-end milliseconds (``Solver.solve`` from numpy
to numpy), the runs that succeeded, the mean steps per run and the worst
relative error of an evenly spaced subset of 64 runs against rodas4 in
float64 on the CPU at rtol = 1e-10 (float32 round-off is about 1e-7).

At k3 = 0 the problem is unstable once y2 dips below zero (dy2/dt =
-k2 y2^2 then drives it to minus infinity in finite time), which any
error within atol can cause; a run that fails there gets its status and the
rest of the batch is unaffected.

Run on a machine with an NVIDIA GPU:  python benchmarks/gpu_stiff.py
Writes ``benchmarks/results/gpu_stiff.json``. (With NUMBA_ENABLE_CUDASIM=1
and tiny sizes it runs in the simulator: a smoke test, timings meaningless.)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from numba import cuda

import batchode
from batchode.systems.examples import robertson
from common import best_of, device_arguments, device_name, write_gpu_record

SPAN, RTOL, ATOL = (0.0, 1e5), 1e-4, 1e-8
METHODS = ("rodas4", "radau_iia_5", "kvaerno5")
SUBSET = 64


def sweep(n: int) -> dict:
    return {"k3": np.linspace(0.0, 1e4, n)}


def reference_finals(k3: np.ndarray) -> np.ndarray:
    """float64 final states of the given runs (rodas4 on the CPU, rtol 1e-10)."""
    return batchode.solve_ivp(robertson(), SPAN, parameters={"k3": k3}, method="rodas4", rtol=1e-10, atol=1e-14,
                              precision="float64", backend="cpu", progress=False).final_state


def worst_error(finals: np.ndarray, reference: np.ndarray) -> float:
    """Largest relative error over the subset's runs that succeeded in both."""
    relative = np.abs(finals - reference).max(axis=1) / np.abs(reference).max(axis=1)
    finite = np.isfinite(relative)
    return float(relative[finite].max()) if finite.any() else float("nan")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--min-log2", type=int, default=10)
    parser.add_argument("--max-log2", type=int, default=23)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--output", default=str(Path(__file__).parent / "results" / "gpu_stiff.json"))
    options = parser.parse_args(argv)
    if not cuda.is_available():
        parser.error("no usable CUDA GPU (set NUMBA_ENABLE_CUDASIM=1 for a simulator smoke test)")
    rows = []
    print(f"Robertson, k3 in [0, 1e4], t in [0, 1e5], float32, rtol {RTOL}, atol {ATOL} on {device_name()}")
    print(f"{'method':<12} {'N':>9} {'kernel ms':>10} {'end-to-end ms':>14} {'ok':>9} {'steps':>7} {'max err':>9}")
    for method in options.methods:
        solver = batchode.Solver(robertson(), method=method, rtol=RTOL, atol=ATOL, precision="float32",
                                 backend="cuda")
        solver.solve(SPAN, parameters=sweep(2), progress=False)  # compile
        for log2 in range(options.min_log2, options.max_log2 + 1):
            n = 2 ** log2
            parameters = sweep(n)
            kernel, args = device_arguments(solver, SPAN, parameters=parameters)
            kernel_ms = best_of(options.repeats, lambda: kernel.launch(n, args))
            result = None

            def end_to_end():
                nonlocal result
                result = solver.solve(SPAN, parameters=parameters, progress=False)

            total_ms = best_of(options.repeats, end_to_end)
            subset = np.unique(np.linspace(0, n - 1, min(SUBSET, n)).round().astype(int))
            error = worst_error(result.final_state[subset], reference_finals(parameters["k3"][subset]))
            steps = float((result.n_accepted + result.n_rejected).mean())
            rows.append(dict(method=method, n=n, kernel_ms=kernel_ms, end_to_end_ms=total_ms,
                             succeeded=int(result.success.sum()), mean_steps=steps, max_subset_error=error))
            print(f"{method:<12} {n:>9} {kernel_ms:>10.3f} {total_ms:>14.3f} {rows[-1]['succeeded']:>9} "
                  f"{steps:>7.1f} {error:>9.1e}")
    write_gpu_record(options.output, "gpu_stiff", rows, rtol=RTOL, atol=ATOL)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
