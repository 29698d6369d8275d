"""Smoke test: the GPU benchmark script runs end to end (simulator, N = 2)."""

import json
import runpy
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.cudasim

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_lorenz.py"


def test_gpu_benchmark_script_runs(tmp_path, monkeypatch):
    output = tmp_path / "gpu.json"
    monkeypatch.syspath_prepend(str(SCRIPT.parent))  # as running the script does: its helpers import
    monkeypatch.setattr(sys, "argv", [str(SCRIPT), "--min-log2", "1", "--max-log2", "1", "--repeats", "1",
                                      "--output", str(output)])
    with pytest.raises(SystemExit) as stop:
        runpy.run_path(str(SCRIPT), run_name="__main__")
    assert stop.value.code == 0
    rows = json.loads(output.read_text())["rows"]
    assert [row["succeeded"] for row in rows] == [2, 2, 2]
