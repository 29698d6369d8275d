"""Compile latency: how long a user waits before the first result, cold and warm.

Every figure comes from a fresh Python process (``python compile_latency.py
--worker ...``) on a compile cache directory of the benchmark's own:

1. per method (Lorenz, CPU, float64): import time; the first solve with an
   empty cache (cold) and in a second process with the cache filled (warm),
   each as seconds after import and in total; a re-solve after an ``rtol``
   change in the same process; and the CUDA kernel's PTX, cold and warm;
2. cold build time against the system size: tsit5 on a mean-field
   Kuramoto model (O(n) terms) and rodas5p on a 1-D Brusselator, and
   radau_iia_5 and kvaerno5 on the 100-state Brusselator;
3. 10,000 Lorenz runs (t in [0, 10], tsit5, 1e-6) from a fresh process with
   an empty cache, compile included.

Prints a markdown table and writes ``benchmarks/results/compile_latency.json``.
Run ``python benchmarks/compile_latency.py [--quick]``; ``--quick`` measures
tsit5 only and the smallest sizes (a smoke test).

With ``--cuda`` (on a GPU, or in the CUDA simulator as a smoke test) it
measures only the CUDA kernel instead: per method, the first solve of 4
Lorenz runs in float32 from a fresh process with an empty cache (cold: the
kernel compiled and loaded) and from another with that cache filled (warm),
and writes ``benchmarks/results/compile_latency_cuda.json`` (``--output``).
``--methods`` picks the methods in either mode.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import git_commit, write_gpu_record  # noqa: E402

METHODS = ("tsit5", "dop853", "rodas5p", "radau_iia_5", "kvaerno5")
RESULTS = Path(__file__).resolve().parent / "results" / "compile_latency.json"
CUDA_RESULTS = RESULTS.with_name("compile_latency_cuda.json")


def kuramoto(n: int):
    """Mean-field Kuramoto: dtheta_i = omega_i + K/n sum_j sin(theta_j - theta_i), written with O(n) terms."""
    import batchode

    sines = " + ".join(f"sin(theta{j})" for j in range(n))
    cosines = " + ".join(f"cos(theta{j})" for j in range(n))
    equations = [f"dtheta{i} = omega{i} + K / {n} * (({sines}) * cos(theta{i}) - ({cosines}) * sin(theta{i}))"
                 for i in range(n)]
    return batchode.ODESystem.from_equations(
        equations, parameters={"K": 1.5, **{f"omega{i}": 1.0 + 0.01 * i for i in range(n)}},
        initial_state={f"theta{i}": 0.1 * i for i in range(n)})


def brusselator(n: int):
    """Hairer's 1-D Brusselator with n // 2 cells (:func:`batchode.systems.examples.brusselator`)."""
    from batchode.systems.examples import brusselator as of_cells

    return of_cells(n // 2)


def worker(task: dict) -> dict:
    """Run one measurement in this (fresh) process and return its timings."""
    started = time.perf_counter()
    import numpy as np

    import batchode
    from batchode.systems.examples import lorenz

    imported = time.perf_counter()
    kind = task["kind"]
    if kind == "cuda":
        solver = batchode.Solver(lorenz(), method=task["method"], backend="cuda", precision="float32")
        result = solver.solve((0.0, 1.0), parameters={"rho": np.linspace(0, 28, 4)}, progress=False)
        assert np.all(result.success), result.status
        return {"import_s": imported - started, "first_solve_s": time.perf_counter() - imported,
                "compile_s": result.compile_time}
    if kind == "ptx":
        solver = batchode.Solver(lorenz(), method=task["method"], backend="cuda", precision="float32")
        prepared = solver.prepare_arguments((0.0, 1.0), parameters={"rho": np.linspace(0, 28, 4)})
        prepared.kernel.ptx(prepared.args)
        return {"import_s": imported - started, "ptx_s": time.perf_counter() - imported}
    if kind == "size":
        system = {"kuramoto": kuramoto, "brusselator": brusselator}[task["system"]](task["n"])
        built = time.perf_counter()
        result = batchode.solve_ivp(system, (0.0, 0.1), method=task["method"], backend="cpu", rtol=1e-6, atol=1e-6)
        assert result.status[0] == 0, result.status
        return {"system_s": built - imported, "first_solve_s": time.perf_counter() - built,
                "compile_s": result.compile_time}
    if kind == "sweep":
        rho = np.linspace(0.0, 28.0, task["runs"])
        result = batchode.solve_ivp(lorenz(), (0.0, 10.0), parameters={"rho": rho}, method="tsit5", backend="cpu",
                                    rtol=1e-6, atol=1e-6)
        assert np.all(result.success)
        return {"import_s": imported - started, "total_s": time.perf_counter() - started,
                "compile_s": result.compile_time, "solve_s": result.wall_time}
    solver = batchode.Solver(lorenz(), method=task["method"], backend="cpu", rtol=1e-6, atol=1e-6)
    rho = {"rho": np.linspace(0.0, 28.0, 100)}
    first = solver.solve((0.0, 1.0), parameters=rho)
    first_s = time.perf_counter() - imported
    changed = time.perf_counter()
    solver.update(rtol=1e-8)
    again = solver.solve((0.0, 1.0), parameters=rho)
    assert np.all(first.success) and np.all(again.success)
    return {"import_s": imported - started, "first_solve_s": first_s, "compile_s": first.compile_time,
            "rtol_change_s": time.perf_counter() - changed, "rtol_change_compile_s": again.compile_time}


def measure(task: dict, cache_dir: Path) -> dict:
    environment = dict(os.environ, BATCHODE_CACHE_DIR=str(cache_dir))
    environment.pop("BATCHODE_CACHE", None)
    completed = subprocess.run([sys.executable, __file__, "--worker", json.dumps(task)], env=environment,
                               capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"{task} failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def cuda_builds(methods, output: Path) -> int:
    """Cold and warm first solve on the CUDA kernel per method: print them, write them to ``output``."""
    rows = []
    with tempfile.TemporaryDirectory() as root:
        for method in methods:
            cache = Path(root) / f"cuda-{method}"
            cold = measure({"kind": "cuda", "method": method}, cache)
            warm = measure({"kind": "cuda", "method": method}, cache)
            rows.append(dict(method=method, import_s=warm["import_s"], cold_first_solve_s=cold["first_solve_s"],
                             cold_compile_s=cold["compile_s"], warm_first_solve_s=warm["first_solve_s"],
                             warm_compile_s=warm["compile_s"]))
            print(rows[-1], flush=True)
    print("\n| method | import s | cold first solve s (kernel build) | warm first solve s (kernel load) |")
    print("|---|---|---|---|")
    for r in rows:
        print(f"| {r['method']} | {r['import_s']:.2f} | {r['cold_first_solve_s']:.2f} ({r['cold_compile_s']:.2f}) | "
              f"{r['warm_first_solve_s']:.2f} ({r['warm_compile_s']:.2f}) |")
    write_gpu_record(output, "compile_latency_cuda", rows)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tsit5 and the smallest sizes only")
    parser.add_argument("--cuda", action="store_true", help="only the CUDA kernel's cold and warm first solve")
    parser.add_argument("--methods", nargs="+", choices=METHODS, help="methods to measure (default: all)")
    parser.add_argument("--output", type=Path, default=CUDA_RESULTS, help="where --cuda writes its JSON")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.worker:
        print(json.dumps(worker(json.loads(options.worker))))
        return 0
    methods = options.methods or (METHODS[:1] if options.quick else METHODS)
    if options.cuda:
        return cuda_builds(methods, options.output)
    # The stiff budget at 100 states (the medium-systems issue) is checked on the Brusselator for the three
    # stiff families.
    sizes = {("tsit5", "kuramoto"): (3, 10) if options.quick else (3, 10, 30, 100),
             ("rodas5p", "brusselator"): (4, 10) if options.quick else (4, 10, 30, 100),
             ("radau_iia_5", "brusselator"): () if options.quick else (100,),
             ("kvaerno5", "brusselator"): () if options.quick else (100,)}
    rows, scaling = [], []
    with tempfile.TemporaryDirectory() as root:
        for method in methods:
            cache = Path(root) / f"lorenz-{method}"
            cold, warm = measure({"kind": "solve", "method": method}, cache), \
                measure({"kind": "solve", "method": method}, cache)
            ptx_cold = measure({"kind": "ptx", "method": method}, cache)
            ptx_warm = measure({"kind": "ptx", "method": method}, cache)
            rows.append(dict(method=method, import_s=warm["import_s"], cold_first_solve_s=cold["first_solve_s"],
                             cold_total_s=cold["first_solve_s"] + cold["import_s"],
                             warm_first_solve_s=warm["first_solve_s"],
                             warm_total_s=warm["first_solve_s"] + warm["import_s"], rtol_change_s=cold["rtol_change_s"],
                             rtol_change_compile_s=cold["rtol_change_compile_s"], ptx_cold_s=ptx_cold["ptx_s"],
                             ptx_warm_s=ptx_warm["ptx_s"]))
            print(rows[-1], flush=True)
        for (method, system), system_sizes in sizes.items():
            for n in system_sizes:
                timing = measure({"kind": "size", "method": method, "system": system, "n": n},
                                 Path(root) / f"{system}-{n}")
                scaling.append(dict(method=method, system=system, n=n, **timing))
                print(scaling[-1], flush=True)
        runs = 1000 if options.quick else 10_000
        sweep = measure({"kind": "sweep", "runs": runs}, Path(root) / "sweep")
    print("\n| method | import s | cold first solve s (total) | warm first solve s (total) | re-solve after rtol "
          "change s (compile) | PTX cold s | PTX warm s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['method']} | {r['import_s']:.2f} | {r['cold_first_solve_s']:.2f} ({r['cold_total_s']:.2f}) | "
              f"{r['warm_first_solve_s']:.2f} ({r['warm_total_s']:.2f}) | {r['rtol_change_s']:.3f} "
              f"({r['rtol_change_compile_s']:.3f}) | {r['ptx_cold_s']:.2f} | {r['ptx_warm_s']:.2f} |")
    print("\n| method | system | n | cold first solve s | of which kernel compile s |")
    print("|---|---|---|---|---|")
    for r in scaling:
        print(f"| {r['method']} | {r['system']} | {r['n']} | {r['first_solve_s']:.2f} | {r['compile_s']:.2f} |")
    print(f"\n{runs} Lorenz runs, fresh process, empty cache: {sweep['total_s']:.2f} s in all (import "
          f"{sweep['import_s']:.2f}, compile {sweep['compile_s']:.2f}, solve {sweep['solve_s']:.2f})")
    if not options.quick:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(dict(benchmark="compile_latency", commit=git_commit(),
                                           date=time.strftime("%Y-%m-%d"), cores=os.cpu_count(), methods=rows,
                                           scaling=scaling, sweep=dict(runs=runs, **sweep)), indent=2))
        print(f"results written to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
