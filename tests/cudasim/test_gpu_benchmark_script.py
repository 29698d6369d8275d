"""Smoke tests: the GPU benchmark scripts run end to end (simulator, tiny sizes)."""

import json
import runpy
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.cudasim

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def run_script(name, arguments, output, monkeypatch) -> list:
    """Run ``benchmarks/<name>`` as ``python`` would; its JSON rows."""
    script = BENCHMARKS / name
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # as running the script does: its helpers import
    monkeypatch.setattr(sys, "argv", [str(script), *arguments, "--repeats", "1", "--output", str(output)])
    with pytest.raises(SystemExit) as stop:
        runpy.run_path(str(script), run_name="__main__")
    assert stop.value.code == 0
    return json.loads(output.read_text())["rows"]


def test_gpu_lorenz_script_runs(tmp_path, monkeypatch):
    rows = run_script("gpu_lorenz.py", ["--min-log2", "1", "--max-log2", "1"], tmp_path / "gpu.json", monkeypatch)
    assert [row["succeeded"] for row in rows] == [2, 2, 2]


def test_gpu_stiff_script_runs(tmp_path, monkeypatch):
    rows = run_script("gpu_stiff.py", ["--min-log2", "1", "--max-log2", "1", "--methods", "rodas4"],
                      tmp_path / "stiff.json", monkeypatch)
    assert [row["succeeded"] for row in rows] == [2]
    assert rows[0]["max_subset_error"] < 1e-5  # float32 against the float64 reference


def test_gpu_chunks_script_runs(tmp_path, monkeypatch):
    rows = run_script("gpu_chunks.py", ["--runs", "5", "--chunk-runs", "2", "--t-end", "0.1"], tmp_path / "chunks.json", monkeypatch)
    assert [(row["mode"], row["chunks"], row["identical"]) for row in rows] == [
        ("one chunk", 1, True), ("sequential", 3, True), ("streamed", 3, True)]
