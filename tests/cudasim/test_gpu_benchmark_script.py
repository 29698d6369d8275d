"""Smoke tests: the GPU benchmark scripts and the prepared GPU check run end to end (simulator, tiny sizes)."""

import json
import runpy
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.cudasim

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def run_main(name, arguments, monkeypatch) -> int:
    """Run ``benchmarks/<name>`` as ``python`` would; its exit status."""
    script = BENCHMARKS / name
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # as running the script does: its helpers import
    monkeypatch.setattr(sys, "argv", [str(script), *arguments])
    with pytest.raises(SystemExit) as stop:
        runpy.run_path(str(script), run_name="__main__")
    return stop.value.code


def run_script(name, arguments, output, monkeypatch) -> list:
    """Run the GPU benchmark ``benchmarks/<name>`` once per size; its JSON rows."""
    assert run_main(name, [*arguments, "--repeats", "1", "--output", str(output)], monkeypatch) == 0
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


GPU_CHECK_STEPS = ("environment", "tests", "lorenz", "stiff-rodas4", "stiff-radau_iia_5", "stiff-kvaerno5", "chunks",
                   "compile")


def test_gpu_check_runs_every_step(tmp_path, monkeypatch):
    """``gpu_check.py --tiny``: every step passes (the gpu tests skip themselves here), both reports list them all."""
    code = run_main("gpu_check.py", ["--tiny", "--test-workers", "0", "--output", str(tmp_path)], monkeypatch)
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    statuses = {step["name"]: step["status"] for step in report["steps"]}
    problems = {step["name"]: step["problems"] for step in report["steps"] if step["problems"]}
    assert statuses == {**dict.fromkeys(GPU_CHECK_STEPS, "passed"), "tests": "skipped"}, problems
    assert tuple(statuses) == GPU_CHECK_STEPS and code == 0 and report["status"] == "passed"
    tests = report["steps"][1]["record"]
    assert tests["tests"] == tests["skipped"] > 0  # collected from tests/gpu, every one skipped in the simulator
    table = (tmp_path / "gpu_check.md").read_text()
    assert all(f"| {name} | {status} |" in table for name, status in statuses.items())
