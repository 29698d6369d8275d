"""What the benchmark scripts share."""

import subprocess
from pathlib import Path

import numpy as np


def git_commit() -> str:
    """Short hash of the checked-out commit, or ``"unknown"`` outside a git checkout."""
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).resolve().parent,
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def best_of(repeats: int, action) -> float:
    """Fastest of ``repeats`` calls of ``action``, in milliseconds, timed between GPU synchronisations."""
    import time

    from numba import cuda

    times = []
    for _ in range(repeats):
        cuda.synchronize()
        started = time.perf_counter()
        action()
        cuda.synchronize()
        times.append((time.perf_counter() - started) * 1e3)
    return min(times)


def device_arguments(solver, t_span, **batch) -> tuple:
    """The kernel that runs a batch and its arguments for one launch, arrays already on the GPU (kernel-only timing)."""
    from numba import cuda

    prepared = solver.prepare_arguments(t_span, **batch)
    return prepared.kernel, tuple(cuda.to_device(a) if isinstance(a, np.ndarray) else a for a in prepared.args)


def device_name() -> str:
    """The GPU's name, or "CUDA simulator"."""
    from numba import config, cuda

    if config.ENABLE_CUDASIM:
        return "CUDA simulator"
    name = cuda.get_current_device().name
    return name.decode() if isinstance(name, bytes) else str(name)


def write_gpu_record(path, benchmark: str, rows: list, **extra) -> None:
    """Write a GPU benchmark's rows to ``path`` as JSON, with device, date, commit and platform."""
    import datetime
    import json
    import platform

    record = dict(benchmark=benchmark, device=device_name(), date=datetime.datetime.now().isoformat(),
                  commit=git_commit(), platform=platform.platform(), **extra, rows=rows)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(record, indent=2))
    print(f"results written to {path}")
