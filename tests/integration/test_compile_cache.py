"""The batch kernel in the disk cache: a new process loads it instead of compiling.

Each case runs a small solve in a fresh Python process (``python -c``) on a
cache directory of its own and reports how many numba compiles it started
(numba's event API) and its final states. The cache's own mechanics
(damaged, foreign and concurrent entries, unwritable directories) are tested
in tests/test_cache.py with small functions.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = r"""
import json, sys
import numpy as np
from numba.core import event
import batchode
from batchode.systems.examples import lorenz

recorder = event.RecordingListener()
event.register("numba:compile", recorder)
config = json.loads(sys.argv[1])
system = lorenz()
if config.pop("equations", None) == "changed":
    system = batchode.ODESystem.from_equations(
        "dx = sigma * (y - x)\ndy = x * (rho - z) - y\ndz = x * y - beta * z + 0.0001",
        parameters={"sigma": 10.0, "rho": 28.0, "beta": 8 / 3}, initial_state={"x": 1.0, "y": 0.0, "z": 0.0})
before = config.pop("compile_first", None)
if before is not None:  # another kernel, compiled in this process before the one under test
    batchode.solve_ivp(system, (0.0, 0.5), backend="cpu", cache=False, **before)
options = {"method": "heun-21", "backend": "cpu", "rtol": 1e-5, "atol": 1e-5, **config}
result = batchode.solve_ivp(system, (0.0, 0.5), parameters={"rho": np.linspace(5, 28, 4)}, **options)
compiles = sum(1 for _, started in recorder.buffer if started.is_start)
print(json.dumps({"compiles": compiles, "final": result.final_state.astype(float).tolist(),
                  "compile_time": result.compile_time}))
"""


def solve_in_new_process(cache_dir: Path, **config) -> dict:
    environment = dict(os.environ, BATCHODE_CACHE_DIR=str(cache_dir))
    environment.pop("BATCHODE_CACHE", None)
    completed = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(config)], capture_output=True, text=True,
                               env=environment, timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def filled_cache(tmp_path_factory):
    """A cache directory after one process compiled the base configuration, and what it computed."""
    cache_dir = tmp_path_factory.mktemp("batchode_cache")
    first = solve_in_new_process(cache_dir)
    assert first["compiles"] > 0
    return cache_dir, first


def test_a_second_process_loads_the_kernel_without_compiling(filled_cache):
    cache_dir, first = filled_cache
    second = solve_in_new_process(cache_dir)
    assert second["compiles"] == 0
    assert second["final"] == first["final"]  # bit for bit
    assert second["compile_time"] < first["compile_time"]


def test_a_kernel_loaded_after_another_was_compiled_calls_its_own_functions(filled_cache):
    """A process that compiles one kernel, then loads another from the cache, gets the cached kernel's results.

    Numba names compiled functions by a per-process counter; without
    batchode's random ids the compiled kernel's loop and the cached one's
    could share a name, and the cached kernel then ran the other's loop
    (numba issue 10486; seen here as every run failing at t0).
    """
    cache_dir, first = filled_cache
    other = dict(method="bogacki-shampine-32", step_controller="fixed", dt=0.01)
    second = solve_in_new_process(cache_dir, compile_first=other)
    assert second["final"] == first["final"]  # bit for bit


def test_a_run_time_change_in_a_new_process_still_hits(filled_cache):
    cache_dir, first = filled_cache
    tighter = solve_in_new_process(cache_dir, rtol=1e-7, atol=1e-7, max_steps=60_000, dt_max=0.01)
    assert tighter["compiles"] == 0
    assert tighter["final"] != first["final"]
    np.testing.assert_allclose(tighter["final"], first["final"], rtol=1e-2)


@pytest.mark.parametrize("change", [dict(method="bogacki-shampine-32"), dict(precision="float32"),
                                    dict(equations="changed"), dict(summaries=["max"], save_every=0.1)],
                         ids=["method", "precision", "equations", "compile-time setting"])
def test_anything_that_shapes_the_code_misses(filled_cache, change):
    cache_dir, _ = filled_cache
    assert solve_in_new_process(cache_dir, **change)["compiles"] > 0


def test_cache_false_compiles_in_memory_and_writes_nothing(tmp_path):
    result = solve_in_new_process(tmp_path, cache=False)
    assert result["compiles"] > 0
    assert not any(path.is_file() for path in tmp_path.rglob("*"))
