"""Demo: sweep the Lorenz system over 10,000 values of rho.

Run ``python -m batchode.demo [--runs N] [--backend auto|cpu|cuda] [--output DIR]``.
Prints a short summary table and writes ``lorenz_sweep.png`` (a few
trajectories, and the final x against rho).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import batchode
from batchode.systems.examples import lorenz


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m batchode.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=10_000, help="number of rho values (default 10000)")
    parser.add_argument("--backend", default="auto", help="auto, cpu or cuda (default auto)")
    parser.add_argument("--method", default="tsit5")
    parser.add_argument("--output", default="demo_output", help="folder for the PNG (default demo_output)")
    options = parser.parse_args(argv)
    if options.runs < 1:
        parser.error(f"--runs must be at least 1, got {options.runs}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        parser.error("the demo's plot needs matplotlib: pip install 'batchode[plot]'")

    rho = np.linspace(0.0, 50.0, options.runs)
    solver = batchode.Solver(lorenz(), method=options.method, rtol=1e-6, atol=1e-6, backend=options.backend)
    result = solver.solve((0.0, 20.0), parameters={"rho": rho}, save_every=0.02)

    rows = [
        ("runs", f"{result.n_runs}"),
        ("method", result.method),
        ("backend", f"{result.backend} ({result.precision})"),
        ("compile (s)", f"{result.compile_time:.2f} (a second run loads it from the compile cache)"),
        ("solve (s)", f"{result.wall_time:.2f}"),
        ("succeeded", f"{int(result.success.sum())} / {result.n_runs}"),
        ("steps per run", f"mean {result.n_accepted.mean():.0f}, max {result.n_accepted.max()}"),
    ]
    width = max(len(name) for name, _ in rows)
    print("batchode demo: Lorenz sweep, t in [0, 20], rho in [0, 50]")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")

    folder = Path(options.output)
    folder.mkdir(parents=True, exist_ok=True)
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for index in np.linspace(0, result.n_runs - 1, 4).astype(int):
        left.plot(result.y[index, :, 0], result.y[index, :, 2], lw=0.6, label=f"rho = {rho[index]:.1f}")
    left.set(xlabel="x", ylabel="z", title="trajectories")
    left.legend(fontsize=8)
    right.plot(rho, result.final_state[:, 0], ",", color="k")
    right.set(xlabel="rho", ylabel="x(t = 20)", title=f"final x over {result.n_runs} runs")
    figure.tight_layout()
    path = folder / "lorenz_sweep.png"
    figure.savefig(path, dpi=120)
    print(f"  plot written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
