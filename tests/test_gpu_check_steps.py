"""The prepared GPU check (benchmarks/gpu_check.py) records a step that hangs, fails or answers wrongly."""

import runpy
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def driver(monkeypatch, tmp_path):
    """The driver's namespace, and an OUTDIR for its steps."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # its helpers import as when it runs
    for folder in ("logs", "results"):
        (tmp_path / folder).mkdir()
    return runpy.run_path(str(BENCHMARKS / "gpu_check.py")), tmp_path


def step(driver, code: str, judge=None):
    """A step that runs ``code`` in a fresh Python and reads its last printed line as its record."""
    namespace, _ = driver
    return namespace["Step"]("probe", 1.0, (sys.executable, "-c", code), None,
                             judge or (lambda record, simulator: namespace["Verdict"]("read")))


def test_a_step_that_hangs_is_killed_at_its_limit_and_keeps_its_output(driver):
    namespace, outdir = driver
    outcome = namespace["run_step"](step(driver, "import time; print('begun', flush=True); time.sleep(60)"), 1.0,
                                    outdir, False)
    assert outcome.status == "timeout" and outcome.returncode is None
    assert outcome.seconds < 30 and "begun" in outcome.output_tail
    assert outcome.problems == ["killed after its 1 s"]


def test_a_step_that_fails_is_recorded_with_its_exit_status(driver):
    namespace, outdir = driver
    outcome = namespace["run_step"](step(driver, "raise SystemExit(3)"), 10.0, outdir, False)
    assert outcome.status == "failed" and outcome.problems == ["exit status 3"]


def test_a_wrong_result_fails_the_step(driver):
    namespace, outdir = driver

    def judge(record, simulator):
        return namespace["Verdict"](f"error {record['error']}", [] if record["error"] < 1e-3 else ["too large"])

    right = namespace["run_step"](step(driver, "print('{\"error\": 1e-6}')", judge), 10.0, outdir, False)
    wrong = namespace["run_step"](step(driver, "print('{\"error\": 0.5}')", judge), 10.0, outdir, False)
    assert (right.status, right.summary) == ("passed", "error 1e-06")
    assert (wrong.status, wrong.problems) == ("failed", ["too large"])
