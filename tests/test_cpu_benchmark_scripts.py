"""Smoke tests: the CPU benchmark scripts run end to end at their smallest configuration."""

import json
import runpy
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_cpu_medium_quick(tmp_path, monkeypatch):
    """``cpu_medium.py --quick``: one Pleiades row with every field, batchode and scipy both near the reference."""
    script, output = BENCHMARKS / "cpu_medium.py", tmp_path / "cpu_medium.json"
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # as running the script does: its helpers import
    monkeypatch.setattr(sys, "argv", [str(script), "--quick", "--output", str(output)])
    with pytest.raises(SystemExit) as stop:
        runpy.run_path(str(script), run_name="__main__")
    assert stop.value.code == 0
    record = json.loads(output.read_text())
    assert {"date", "commit", "machine", "threads", "rows"} <= set(record)
    (row,) = record["rows"]
    assert (row["problem"], row["n"], row["method"], row["runs"], row["succeeded"]) == ("pleiades", 28, "tsit5", 20, 20)
    assert {"us_per_run", "build_s", "steps", "newton", "linear", "scipy_fastest", "scipy_fastest_us_per_run",
            "speedup"} <= set(row)
    assert row["scipy_fastest"] in ("RK45", "DOP853", "LSODA") and row["speedup"] > 0 and row["build_s"] > 0
    # At rtol = atol = 1e-9 the global error at t = 3 is some 20 tolerances (Pleiades'
    # close encounters amplify the local errors; scipy's LSODA some thousands); a wrong
    # right-hand side on either side would be off by O(1), 1e9 tolerances.
    assert row["rtol"] == 1e-9 and row["err_over_tol"] < 100 and row["scipy_err_over_tol"] < 1e5
