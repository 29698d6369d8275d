"""Sweeps on a local Dask cluster (2 worker processes, loopback only, CPU backend).

All tests share one cluster (xdist_group: one pytest worker runs them all,
in this order); the worker-killing test comes last because it replaces a
worker.
"""

import os
import re
import signal
import threading
import time

import numpy as np
import pytest

import batchode
from batchode.batch.distributed import worker_compilations
from batchode.batch.store import ResultStore
from batchode.systems.examples import lorenz

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.xdist_group("dask")

RUNS = 20_000
SWEEP = {"rho": np.linspace(0.0, 28.0, RUNS)}
CHUNK = 2_000  # 10 chunks


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None, worker_dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def solver():
    return batchode.Solver(lorenz(), method="tsit5", rtol=1e-6, atol=1e-6, backend="cpu",
                           summaries=["mean", "max"])


@pytest.fixture(scope="module")
def local_run(solver):
    return solver.solve((0.0, 1.0), parameters=SWEEP, save_every=0.1, chunk_runs=CHUNK)


def assert_same(got, expected):
    for name in ("y", "status", "n_accepted", "n_rejected", "initial_state"):
        np.testing.assert_array_equal(np.asarray(getattr(got, name)[...]), getattr(expected, name), err_msg=name)
    for name, values in expected.summaries.items():
        np.testing.assert_array_equal(got.summaries[name], values, err_msg=name)


@pytest.mark.parametrize("not_a_client, hint", [
    ("127.0.0.1:8786", "connect to the scheduler first: client=dask.distributed.Client('127.0.0.1:8786')"),
    (object, "(type)"),
])
def test_a_client_that_is_not_a_dask_client_is_refused(solver, not_a_client, hint):
    # Once an AttributeError ('str' object has no attribute 'nthreads').
    for chunk_runs in (None, CHUNK):
        with pytest.raises(TypeError, match=re.escape(f"client must be a dask.distributed.Client, got "
                                                      f"{not_a_client!r}")) as error:
            solver.solve((0.0, 1.0), parameters=SWEEP, save_every=0.1, chunk_runs=chunk_runs,
                         client=not_a_client)
        assert hint in str(error.value)


def test_cluster_binds_loopback_only(client):
    assert client.scheduler.address.startswith("tcp://127.0.0.1:")
    assert all(address.startswith("tcp://127.0.0.1:") for address in client.scheduler_info()["workers"])


def test_sweep_on_two_workers_equals_the_local_run_and_compiles_once_per_worker(client, solver, local_run):
    result = solver.solve((0.0, 1.0), parameters=SWEEP, save_every=0.1, chunk_runs=CHUNK, client=client)
    assert_same(result, local_run)
    assert result.chunks_computed == 10
    compilations = client.run(worker_compilations)
    assert sorted(compilations.values()) == [1, 1], compilations  # both worked, each compiled once
    again = solver.solve((0.0, 1.0), parameters=SWEEP, save_every=0.1, chunk_runs=CHUNK, client=client)
    assert_same(again, local_run)
    assert client.run(worker_compilations) == compilations  # reused


def test_an_interrupted_sweep_resumes_computing_only_missing_chunks(client, solver, local_run, tmp_path,
                                                                   monkeypatch):
    path = tmp_path / "sweep.zarr"
    run_chunks = solver.kernel.run_chunks

    def interrupted_after_three_chunks(jobs, outputs):
        for count, finished in enumerate(run_chunks(jobs, outputs), 1):
            if count == 4:
                raise KeyboardInterrupt
            yield finished

    with monkeypatch.context() as patch:
        patch.setattr(solver.kernel, "run_chunks", interrupted_after_three_chunks)
        with pytest.raises(KeyboardInterrupt):
            solver.solve((0.0, 1.0), parameters=SWEEP, save_every=0.1, chunk_runs=CHUNK, output=path)
    assert ResultStore.open(path).completed_chunks == [0, 1, 2]
    resumed = solver.solve((0.0, 1.0), parameters=SWEEP, save_every=0.1, chunk_runs=CHUNK, output=path,
                           client=client)
    assert resumed.chunks_computed == 7
    assert_same(resumed, local_run)
    # a store of another sweep is not touched without overwrite=True
    with pytest.raises(FileExistsError, match="does not hold this sweep"):
        solver.solve((0.0, 2.0), parameters=SWEEP, save_every=0.1, chunk_runs=CHUNK, output=path, client=client)


def completed(path) -> list:
    """The store's completed chunks; none while the client is still creating it."""
    try:
        return ResultStore.open(path).completed_chunks
    except (FileNotFoundError, KeyError):
        return []


def test_a_killed_worker_does_not_lose_the_sweep(client, solver, tmp_path):
    # Long runs (t to 40) so that chunks are still running when a worker dies.
    expected = solver.solve((0.0, 40.0), parameters=SWEEP, save_every=1.0, chunk_runs=CHUNK)
    path = tmp_path / "killed.zarr"
    outcome = {}

    def sweep():
        outcome["result"] = solver.solve((0.0, 40.0), parameters=SWEEP, save_every=1.0, chunk_runs=CHUNK,
                                         output=path, client=client)

    worker = threading.Thread(target=sweep)
    worker.start()
    deadline = time.monotonic() + 120
    while not completed(path) and time.monotonic() < deadline:
        time.sleep(0.02)
    done_before = len(completed(path))
    pids = client.run(os.getpid)
    victim = sorted(pids)[0]
    os.kill(pids[victim], signal.SIGKILL)
    worker.join(timeout=300)
    assert not worker.is_alive()
    assert done_before < 10, "the sweep finished before the worker was killed; the test proved nothing"
    assert_same(outcome["result"], expected)
