"""Chunked runs, results streamed to disk, and the host-memory check."""

import numpy as np
import pytest

import batchode
from batchode.batch.chunking import CPU_CHUNK_RUNS, CPU_PROGRESS_FLOOR, PROGRESS_CHUNKS, plan_chunks
from batchode.batch.store import ResultStore

SPAN = (0.0, 2.0)
SWEEP = {"rho": np.linspace(2.0, 28.0, 10)}
WINDOWS = dict(save_every=0.01, summarise_every=0.5)


def assert_same_results(got, expected):
    for name in ("t", "y", "observables", "status", "n_accepted", "n_rejected", "initial_state"):
        np.testing.assert_array_equal(np.asarray(getattr(got, name)[...]), getattr(expected, name), err_msg=name)
    assert got.summaries.keys() == expected.summaries.keys()
    for name, values in expected.summaries.items():
        np.testing.assert_array_equal(got.summaries[name], values, err_msg=name)
    np.testing.assert_array_equal(got.parameters["rho"], expected.parameters["rho"])


@pytest.fixture(scope="module")
def unchunked(value_solver):
    return value_solver.solve(SPAN, parameters=SWEEP, **WINDOWS)


def test_many_chunks_by_memory_budget_give_identical_arrays(value_solver, unchunked):
    batch = value_solver.prepare(SPAN, parameters=SWEEP, **WINDOWS)
    budget = 3 * batch.shape.bytes_per_run  # 3 runs per chunk: 4 chunks, the last one short
    chunked = value_solver.solve(SPAN, parameters=SWEEP, chunk_memory=budget, **WINDOWS)
    assert_same_results(chunked, unchunked)


def test_results_written_to_zarr_read_back_identical(value_solver, unchunked, tmp_path):
    path = tmp_path / "sweep.zarr"
    streamed = value_solver.solve(SPAN, parameters=SWEEP, output=path, chunk_runs=4, **WINDOWS)
    assert streamed.output_path == str(path)
    assert_same_results(streamed, unchunked)
    assert_same_results(batchode.open_result(path), unchunked)
    assert ResultStore.open(path).completed_chunks == [0, 1, 2]


def test_a_failed_chunk_keeps_the_chunks_before_it(value_solver, unchunked, tmp_path, monkeypatch):
    path = tmp_path / "partial.zarr"
    run_chunks = value_solver.kernel.run_chunks

    def failing_third_chunk(jobs, outputs):
        for count, finished in enumerate(run_chunks(jobs, outputs), 1):
            if count == 3:
                raise RuntimeError("device lost")
            yield finished

    monkeypatch.setattr(value_solver.kernel, "run_chunks", failing_third_chunk)
    with pytest.raises(RuntimeError, match="device lost"):
        value_solver.solve(SPAN, parameters=SWEEP, output=path, chunk_runs=3, **WINDOWS)
    store = ResultStore.open(path)
    assert store.completed_chunks == [0, 1]
    np.testing.assert_array_equal(store.group["y"][:6], unchunked.y[:6])
    np.testing.assert_array_equal(store.group["status"][:6], unchunked.status[:6])
    with pytest.raises(RuntimeError, match=r"incomplete: chunks \[0, 1\] of 4"):
        batchode.open_result(path)


def test_results_larger_than_host_memory_fail_before_launch(value_solver):
    # 10^6 runs x 2 * 10^5 saves x (3 states + 1 observable) x 8 bytes = 6.4 TB.
    rho = {"rho": np.linspace(0.0, 28.0, 1_000_000)}
    with pytest.raises(MemoryError, match=r"need 5.82 TiB of host memory.*output='results.zarr'"):
        value_solver.solve(SPAN, parameters=rho, save_every=1e-5)


def test_memory_estimate_in_describe_memory(value_solver):
    text = value_solver.describe_memory(SPAN, parameters=SWEEP, **WINDOWS)
    batch = value_solver.prepare(SPAN, parameters=SWEEP, **WINDOWS)
    assert "10 runs x" in text and f"{batch.shape.bytes_per_run}" not in text  # sizes are formatted
    assert "201 saved rows of 3 states" in text and "4 summary rows of" in text
    assert text.endswith("chunks: 1 of up to 10 runs")
    assert value_solver.describe_memory(SPAN, parameters=SWEEP, chunk_runs=4, **WINDOWS).endswith(
        "chunks: 3 of up to 4 runs")


@pytest.mark.parametrize("options, match", [
    (dict(chunk_memory=0), "chunk_memory must be a positive"),
    (dict(chunk_runs=2.5), "chunk_runs must be a positive integer"),
    (dict(chunk_memory=10), "one run needs"),
])
def test_bad_chunk_settings(value_solver, options, match):
    with pytest.raises((ValueError, MemoryError), match=match):
        value_solver.solve(SPAN, parameters=SWEEP, **WINDOWS, **options)


def test_progress_bar_only_on_request_or_a_terminal():
    from batchode.batch.chunking import progress_bar

    assert progress_bar(False, 10).disable
    assert progress_bar(None, 10).disable  # pytest's stderr is not a terminal
    shown = progress_bar(True, 10)
    assert not shown.disable and shown.total == 10
    assert shown.unit == "run" and shown.unit_scale  # shows runs per second, as "12.3k run/s"
    shown.close()


@pytest.fixture(scope="module")
def decay_solver():
    """The cheapest system there is, so that 10,000 runs cost nothing but the chunks."""
    system = batchode.ODESystem.from_equations("dx = -k*x", parameters={"k": 1.0}, initial_state={"x": 1.0})
    return batchode.Solver(system, method="tsit5", backend="cpu", save_time_series=False)


def test_with_progress_a_sweep_is_cut_into_twenty_chunks_with_the_same_results(decay_solver):
    sweep = {"k": np.linspace(0.5, 2.0, 10_000)}
    with_bar = decay_solver.solve((0.0, 1.0), parameters=sweep, progress=True)
    without_bar = decay_solver.solve((0.0, 1.0), parameters=sweep, progress=False)
    assert with_bar.chunks_computed >= PROGRESS_CHUNKS  # the bar moves once per chunk
    assert without_bar.chunks_computed == 1
    # A chunk size asked for is kept: the bar then moves once per chunk of that size.
    assert decay_solver.solve((0.0, 1.0), parameters=sweep, progress=True, chunk_runs=5_000).chunks_computed == 2
    for name in ("y", "status", "n_accepted", "n_rejected"):
        np.testing.assert_array_equal(getattr(with_bar, name), getattr(without_bar, name), err_msg=name)


def test_the_progress_cut_keeps_a_floor_and_never_depends_on_the_terminal(decay_solver):
    def chunks(runs, progress, max_runs=CPU_CHUNK_RUNS):
        shape = decay_solver.prepare((0.0, 1.0), parameters={"k": np.linspace(1.0, 2.0, runs)}).shape
        return plan_chunks(shape, None, max_runs, progress, "cpu")

    assert len(chunks(10_000, True)) == len(chunks(10_000, None)) == PROGRESS_CHUNKS
    assert chunks(10_000, False) == [(0, 10_000)]
    # A small sweep is not cut below the floor: 1,000 runs make 4 chunks, not 20 of 50.
    assert max(stop - start for start, stop in chunks(1_000, True)) == CPU_PROGRESS_FLOOR
    # Smaller limits still hold: the cut only ever makes chunks smaller.
    assert len(chunks(10_000, True, max_runs=100)) == 100


def test_summaries_round_trip_through_zarr_with_xarray(unchunked, tmp_path):
    import xarray as xr

    dataset = unchunked.to_xarray()
    assert dataset["summary_extrema"].dims == ("run", "window", "summary_variable", "extrema_component")
    dataset.to_zarr(tmp_path / "ds.zarr")
    back = xr.open_zarr(tmp_path / "ds.zarr").load()
    np.testing.assert_array_equal(back["summary_peaks"].values, unchunked.summaries["peaks"])
    assert list(back["summary_variable"].values) == ["x", "z", "radius2"]
    assert list(back["peaks_component"].values) == ["count", "t_1", "t_2", "t_3"]
    np.testing.assert_array_equal(back["window_end"].values, [0.5, 1.0, 1.5, 2.0])


def test_a_stored_result_opens_lazily_in_xarray(value_solver, unchunked, tmp_path):
    dask_array = pytest.importorskip("dask.array")
    path = tmp_path / "lazy.zarr"
    value_solver.solve(SPAN, parameters=SWEEP, output=path, chunk_runs=4, **WINDOWS)
    dataset = batchode.open_result(path).to_xarray()
    assert isinstance(dataset["y"].data, dask_array.Array)  # nothing read yet
    np.testing.assert_array_equal(dataset["y"].values, unchunked.y)
    np.testing.assert_array_equal(dataset["summary_mean"].values, unchunked.summaries["mean"])
