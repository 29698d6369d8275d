"""One prepared check of batchode on a real GPU, sized for a short GPU slot.

``scripts/gpu_check.sh`` installs what is needed and calls this script,
which runs each step below in a fresh process under its own time limit, all
of them within ``--total`` seconds (480 by default), and goes on to the next
step when one fails, times out or gives a wrong result:

=================  ========  ==============================================================
step               budget s  what
=================  ========  ==============================================================
environment              15  device, compute capability, driver, CUDA and library versions
tests                   160  ``pytest -m gpu tests/gpu``: every method family, saves, an event,
                             SHARED buffers, chunks, summaries, a driver, failing runs, each
                             against the CPU backend (about 20 kernels to build, 4 workers)
lorenz                   50  ``gpu_lorenz.py``, N = 2^12 ... 2^21, best of 3
stiff-rodas4             40  ``gpu_stiff.py`` at N = 2^20, best of 2, per method, so that a
stiff-radau_iia_5        55  slow one cannot take the others' time; radau_iia_5 builds the
stiff-kvaerno5           40  largest kernel
chunks                   60  ``gpu_chunks.py``, 2^18 runs x 1001 saves (3.1 GB), chunks of 2^15
compile                  45  ``compile_latency.py --cuda``: tsit5 and rodas5p, cold and warm
=================  ========  ==============================================================

The budgets add up to 465 s. They are estimates for an H100 or H200 from
this project's CPU measurements: cold builds of 3-15 s per kernel on one
core (``benchmarks/RESULTS.md``), launches well under a second at these
sizes, and end-to-end solves dominated by the host's handling of the
outputs. A step that runs out of its budget is killed with its process
group and recorded as ``timeout``; what it printed until then is kept.

Writes ``OUTDIR/gpu_check.json`` (every step: status, seconds, budget, key
numbers, problems, the record it wrote and the tail of its output) and
``OUTDIR/gpu_check.md`` (a summary table, then one table per benchmark),
each step's full output under ``OUTDIR/logs/`` and the benchmarks' own JSON
under ``OUTDIR/results/``. Exit status 0 when every step passed, 1
otherwise. ``--tiny`` runs every step at toy sizes, the smoke test of this
script in the CUDA simulator (``tests/cudasim/test_gpu_benchmark_script.py``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from importlib import metadata
from importlib.util import find_spec
from pathlib import Path
from typing import Callable

from common import git_commit

BENCHMARKS = Path(__file__).resolve().parent
ROOT = BENCHMARKS.parent
#: Below this many seconds left of the total, a step is not started.
LEAST_USEFUL_S = 5.0
#: Every step's limit at toy sizes (--tiny): far above what they take, so that only a hang reaches it.
TINY_BUDGET_S = 60.0
#: Characters of a step's output kept in the JSON.
TAIL_CHARACTERS = 6000
#: The stiff benchmark's answer is wrong beyond this relative error against its float64 reference: ten times the
#: requested rtol of 1e-4 (the CPU's float32 runs measured 1.4e-6 at worst).
STIFF_ERROR_LIMIT = 1e-3
#: ... or when more than this fraction of its runs, and more than one, fail. Near k3 = 0 Robertson is unstable
#: (gpu_stiff.py's docstring), so the k3 = 0 run, and a few beside it, may fail honestly (radau_iia_5 fails k3 = 0
#: in the simulator); the CPU's float32 runs of every method over 4096 values of k3 all succeeded.
STIFF_FAILING_LIMIT = 1e-3


@dataclass(frozen=True)
class Step:
    """One step: its command, its time limit, and how to read what it left."""

    name: str
    budget_s: float
    arguments: tuple
    #: File the step writes its JSON record to, under OUTDIR/results (None: the record is its output's last line).
    record: str | None
    #: (record, simulator) -> its verdict.
    judge: Callable[[dict, bool], "Verdict"]


@dataclass
class Verdict:
    """A step's key numbers and its problems (any problem fails it); ``skipped``: it had nothing to run here."""

    summary: str
    problems: list = field(default_factory=list)
    skipped: bool = False


@dataclass
class Outcome:
    """What a step did."""

    name: str
    status: str  # passed, failed, timeout, skipped, not run
    seconds: float
    budget_s: float
    returncode: int | None
    summary: str
    problems: list
    record: dict
    output_tail: str


# -- the environment step (run as ``gpu_check.py --environment``) ----------------------------------------------
def probe(read):
    """``read()``, or the error it raised as text, so one missing fact does not hide the others."""
    try:
        return read()
    except Exception as error:  # noqa: BLE001 - every failure is a fact worth reporting
        return f"unavailable: {type(error).__name__}: {error}"


def nvidia_smi() -> dict:
    """The GPU and driver as ``nvidia-smi`` sees them, and the highest CUDA version the driver supports."""
    query = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                           capture_output=True, text=True, check=True, timeout=10).stdout.strip().splitlines()[0]
    name, driver, memory = (value.strip() for value in query.split(","))
    header = subprocess.run(["nvidia-smi"], capture_output=True, text=True, check=True, timeout=10).stdout
    cuda = header.split("CUDA Version:")[1].split()[0] if "CUDA Version:" in header else "unknown"
    return dict(name=name, driver=driver, memory=memory, driver_cuda=cuda)


def changed_files() -> list:
    """Tracked files that differ from the commit: numbers measured with changes are not the commit's."""
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout.splitlines()


def environment() -> dict:
    """Device, driver, CUDA and library versions, read in this process."""
    import platform

    from numba import config, cuda

    info = dict(python=platform.python_version(), platform=platform.platform(), commit=git_commit(),
                changed_files=probe(changed_files), simulator=bool(config.ENABLE_CUDASIM),
                cuda_available=bool(cuda.is_available()))
    for package in ("batchode", "numba", "numba-cuda", "llvmlite", "numpy"):
        info[package] = probe(lambda package=package: metadata.version(package))
    info["nvidia_smi"] = probe(nvidia_smi)
    if info["cuda_available"] and not info["simulator"]:
        from numba.cuda.cudadrv import nvvm
        from numba.cuda.cudadrv.driver import driver

        device = cuda.get_current_device()
        info.update(device=probe(lambda: device.name.decode() if isinstance(device.name, bytes) else str(device.name)),
                    compute_capability=probe(lambda: ".".join(map(str, device.compute_capability))),
                    driver_cuda=probe(lambda: ".".join(map(str, driver.get_version()))),
                    runtime_cuda=probe(lambda: ".".join(map(str, cuda.runtime.get_version()))),
                    nvvm=probe(lambda: ".".join(map(str, nvvm.NVVM().get_version()))),
                    free_memory_gb=probe(lambda: cuda.current_context().get_memory_info()[0] / 1e9))
    else:
        info["device"] = "CUDA simulator" if info["simulator"] else "none"
    return info


# -- judging each step's record ----------------------------------------------------------------------------------
def judge_environment(record: dict, simulator: bool) -> Verdict:
    if record["simulator"]:
        return Verdict(f"CUDA simulator; numba-cuda {record['numba-cuda']}")
    if not record["cuda_available"]:
        return Verdict("no usable GPU", ["numba.cuda.is_available() is false: no step can use the GPU"])
    smi = record["nvidia_smi"]
    driver = smi["driver"] if isinstance(smi, dict) else "unknown"
    return Verdict(f"{record['device']}, cc {record['compute_capability']}, driver {driver} (CUDA "
                   f"{record['driver_cuda']}), runtime {record['runtime_cuda']}, NVVM {record['nvvm']}; numba "
                   f"{record['numba']}, numba-cuda {record['numba-cuda']}")


def test_counts(junit: Path) -> dict:
    """Tests run, failed and skipped, and the names of those that failed, from pytest's JUnit XML."""
    counts = dict(tests=0, failed=0, skipped=0, failures=[])
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        counts["tests"] += 1
        if case.find("failure") is not None or case.find("error") is not None:
            counts["failed"] += 1
            counts["failures"].append(case.get("name"))
        elif case.find("skipped") is not None:
            counts["skipped"] += 1
    return counts


def judge_tests(record: dict, simulator: bool) -> Verdict:
    ran = record["tests"] - record["skipped"]
    summary = f"{ran - record['failed']} passed, {record['failed']} failed, {record['skipped']} skipped"
    problems = [f"failed: {name}" for name in record["failures"]]
    if record["tests"] == 0 or (ran == 0 and not simulator):
        problems.append("no gpu test ran")
    # In the simulator the gpu tests skip themselves: the driver's smoke test only sees them collected.
    return Verdict(summary, problems, skipped=simulator and ran == 0)


def judge_lorenz(record: dict, simulator: bool) -> Verdict:
    largest = {}
    for row in record["rows"]:
        largest[row["case"]] = row
    summary = "; ".join(f"{case} at N = {row['n']}: kernel {row['kernel_ms']:.1f} ms, end to end "
                        f"{row['end_to_end_ms']:.1f} ms" for case, row in largest.items())
    problems = [f"{row['case']}, N = {row['n']}: {row['n'] - row['succeeded']} runs failed"
                for row in record["rows"] if row["succeeded"] != row["n"]]
    return Verdict(summary, problems)


def judge_stiff(record: dict, simulator: bool) -> Verdict:
    summaries, problems = [], []
    for row in record["rows"]:
        failing = row["n"] - row["succeeded"]
        summaries.append(f"{row['method']} at N = {row['n']}: kernel {row['kernel_ms']:.1f} ms, end to end "
                         f"{row['end_to_end_ms']:.1f} ms, {failing} failed, {row['mean_steps']:.0f} steps, "
                         f"error {row['max_subset_error']:.1e}")
        if not row["max_subset_error"] <= STIFF_ERROR_LIMIT:  # NaN too
            problems.append(f"{row['method']}: error {row['max_subset_error']:.1e} above {STIFF_ERROR_LIMIT:.0e}")
        if failing > max(1, STIFF_FAILING_LIMIT * row["n"]):
            problems.append(f"{row['method']}: {failing} of {row['n']} runs failed")
    return Verdict("; ".join(summaries), problems)


def judge_chunks(record: dict, simulator: bool) -> Verdict:
    summary = "; ".join(f"{row['mode']} ({row['chunks']} chunks) {row['end_to_end_ms']:.0f} ms"
                        for row in record["rows"]) + f"; output {record['rows'][0]['output_gb']:.2f} GB"
    problems = [f"{row['mode']}: arrays differ from the first mode's" for row in record["rows"]
                if not row["identical"]]
    return Verdict(summary, problems)


def judge_compile(record: dict, simulator: bool) -> Verdict:
    return Verdict("; ".join(f"{row['method']}: cold {row['cold_first_solve_s']:.1f} s (build "
                             f"{row['cold_compile_s']:.1f}), warm {row['warm_first_solve_s']:.2f} s (load "
                             f"{row['warm_compile_s']:.2f})" for row in record["rows"]))


def steps(tiny: bool, workers: int) -> list[Step]:
    """The check's steps; ``tiny``: toy sizes and budgets for the simulator."""
    python = sys.executable

    def script(name, *arguments):
        return (python, str(BENCHMARKS / name), *map(str, arguments))

    pytest = (python, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-m", "gpu", str(ROOT / "tests" / "gpu"),
              "--junitxml={results}/gpu_tests.xml", *(("-n", str(workers)) if workers else ()))
    lorenz = ("--min-log2", 1, "--max-log2", 1, "--repeats", 1) if tiny else \
        ("--min-log2", 12, "--max-log2", 21, "--repeats", 3)
    stiff_sizes = ("--min-log2", 1, "--max-log2", 1, "--repeats", 1) if tiny else \
        ("--min-log2", 20, "--max-log2", 20, "--repeats", 2)
    chunks = ("--runs", 5, "--chunk-runs", 2, "--t-end", 0.1, "--repeats", 1) if tiny else \
        ("--runs", 1 << 18, "--chunk-runs", 1 << 15, "--repeats", 2)
    methods = ("tsit5",) if tiny else ("tsit5", "rodas5p")

    def budget(seconds: float) -> float:
        """The step's limit: its H100/H200 estimate, or at toy sizes one ceiling that only a hang reaches."""
        return TINY_BUDGET_S if tiny else seconds

    stiff = [Step(f"stiff-{method}", budget(seconds),
                  script("gpu_stiff.py", *stiff_sizes, "--methods", method, "--output",
                         f"{{results}}/gpu_stiff_{method}.json"),
                  f"gpu_stiff_{method}.json", judge_stiff)
             for method, seconds in (("rodas4", 40), ("radau_iia_5", 55), ("kvaerno5", 40))]
    return [
        Step("environment", budget(15), (python, __file__, "--environment"), None, judge_environment),
        Step("tests", budget(160), pytest, "gpu_tests.xml", judge_tests),
        Step("lorenz", budget(50), script("gpu_lorenz.py", *lorenz, "--output", "{results}/gpu_lorenz.json"),
             "gpu_lorenz.json", judge_lorenz),
        *stiff,
        Step("chunks", budget(60), script("gpu_chunks.py", *chunks, "--output", "{results}/gpu_chunks.json"),
             "gpu_chunks.json", judge_chunks),
        Step("compile", budget(45),
             script("compile_latency.py", "--cuda", "--methods", *methods, "--output",
                    "{results}/compile_latency_cuda.json"),
             "compile_latency_cuda.json", judge_compile),
    ]


# -- running ---------------------------------------------------------------------------------------------------
def run_step(step: Step, limit_s: float, outdir: Path, simulator: bool) -> Outcome:
    """Run one step in its own process group, killed with it after ``limit_s`` seconds."""
    results = outdir / "results"
    log = outdir / "logs" / f"{step.name}.log"
    arguments = [argument.replace("{results}", str(results)) for argument in step.arguments]
    environment = dict(os.environ, PYTHONUNBUFFERED="1")
    if step.record:
        (results / step.record).unlink(missing_ok=True)  # an earlier run's record is not this one's
    started = time.perf_counter()
    with log.open("w") as output:
        process = subprocess.Popen(arguments, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env=environment, start_new_session=True)
        try:
            returncode = process.wait(timeout=limit_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the step's group: pytest workers and build workers too
            process.wait()
            returncode = None
    seconds = time.perf_counter() - started
    text = log.read_text(errors="replace")
    record, verdict = {}, Verdict("")
    try:
        if step.record is None:
            record = json.loads(text.strip().splitlines()[-1])
        elif step.record.endswith(".xml"):
            record = test_counts(results / step.record)
        else:
            record = json.loads((results / step.record).read_text())
        verdict = step.judge(record, simulator)
    except (OSError, ValueError, IndexError, KeyError, ElementTree.ParseError) as error:
        if returncode == 0:  # otherwise the missing record is the failure's consequence, said below
            verdict.problems.append(f"no readable record: {type(error).__name__}: {error}")
    if returncode is None:
        status = "timeout"
        verdict.problems.insert(0, f"killed after its {limit_s:.0f} s")
    elif returncode != 0:
        status = "failed"
        verdict.problems.insert(0, f"exit status {returncode}")
    else:
        status = "failed" if verdict.problems else "skipped" if verdict.skipped else "passed"
    return Outcome(step.name, status, round(seconds, 2), step.budget_s, returncode, verdict.summary, verdict.problems,
                   record, text[-TAIL_CHARACTERS:])


def markdown(report: dict) -> str:
    """The summary table, then each benchmark's rows as a table."""
    environment = report["steps"][0]["record"]
    lines = [f"# GPU check: {environment.get('device', 'unknown device')}, {report['date']}, commit {report['commit']}",
             "", f"Overall: **{report['status']}** in {report['seconds']:.0f} s (limit {report['total_s']:.0f} s).", "",
             "| step | status | seconds (budget) | key numbers |", "|---|---|---|---|"]
    for step in report["steps"]:
        numbers = "; ".join(filter(None, [step["summary"], *step["problems"]])).replace("|", "/")
        lines.append(f"| {step['name']} | {step['status']} | {step['seconds']:.1f} ({step['budget_s']:.0f}) | "
                     f"{numbers} |")
    for step in report["steps"]:
        rows = step["record"].get("rows") if isinstance(step["record"], dict) else None
        if rows:
            columns = list(rows[0])
            lines += ["", f"## {step['name']}", "", "| " + " | ".join(columns) + " |",
                      "|" + "---|" * len(columns)]
            lines += ["| " + " | ".join(f"{row[c]:.4g}" if isinstance(row[c], float) else str(row[c])
                                        for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=ROOT / "gpu_check_output", help="OUTDIR")
    parser.add_argument("--total", type=float, default=480.0, help="seconds for all steps together")
    parser.add_argument("--tiny", action="store_true", help="toy sizes: the simulator's smoke test")
    parser.add_argument("--test-workers", type=int, default=4, help="pytest-xdist workers for the tests (0: none)")
    parser.add_argument("--environment", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    if options.environment:
        print(json.dumps(environment()))
        return 0
    from numba import config

    simulator = bool(config.ENABLE_CUDASIM)
    outdir = options.output.resolve()
    for folder in (outdir / "logs", outdir / "results"):
        folder.mkdir(parents=True, exist_ok=True)
    workers = options.test_workers if find_spec("xdist") else 0
    began = time.perf_counter()
    outcomes = []
    for step in steps(options.tiny, workers):
        left = options.total - (time.perf_counter() - began)
        if left < LEAST_USEFUL_S:
            outcomes.append(Outcome(step.name, "not run", 0.0, step.budget_s, None, "",
                                    [f"only {max(left, 0):.0f} s of the {options.total:.0f} s left"], {}, ""))
        else:
            outcomes.append(run_step(step, min(step.budget_s, left), outdir, simulator))
        print(f"{outcomes[-1].name:<18} {outcomes[-1].status:<8} {outcomes[-1].seconds:>7.1f} s  "
              f"{'; '.join(filter(None, [outcomes[-1].summary, *outcomes[-1].problems]))}", flush=True)
    failed = [o.name for o in outcomes if o.status not in ("passed", "skipped")]
    report = dict(date=datetime.datetime.now().isoformat(timespec="seconds"), commit=git_commit(), tiny=options.tiny,
                  total_s=options.total, seconds=round(time.perf_counter() - began, 2),
                  status="failed: " + ", ".join(failed) if failed else "passed",
                  steps=[vars(o) for o in outcomes])
    (outdir / "gpu_check.json").write_text(json.dumps(report, indent=2))
    (outdir / "gpu_check.md").write_text(markdown(report))
    print(f"{report['status']}; report in {outdir / 'gpu_check.md'} and gpu_check.json")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
