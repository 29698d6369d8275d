"""``output=`` stores: only a store batchode wrote is ever replaced; empty sweeps never create one."""

import json
import os

import numpy as np
import pytest

import batchode
from batchode.batch.store import MARKER, ResultStore, written_by_batchode

pytest.importorskip("zarr")

SPAN = (0.0, 0.5)
SWEEP = {"rho": np.linspace(2.0, 28.0, 4)}
WINDOWS = dict(save_every=0.01, summarise_every=0.5)  # value_solver computes summaries


def layout(runs=2):
    """The smallest arguments of ResultStore.create_or_resume: two runs of one state, one chunk."""
    return dict(chunks=[(0, runs)], times=np.array([0.0, 1.0]), initial_state=np.zeros((runs, 1)),
                parameters=np.zeros((runs, 1)), outputs={"y": ((2, 1), np.dtype(np.float64))},
                metadata={"method": "test"})


def user_files(directory):
    """An ordinary directory with a file and a subdirectory, as a user's project would be."""
    directory.mkdir(exist_ok=True)
    (directory / "notes.txt").write_text("irreplaceable")
    (directory / "data").mkdir()
    (directory / "data" / "x.csv").write_text("1,2")
    return directory


def intact(directory):
    return (directory / "notes.txt").read_text() == "irreplaceable" and (directory / "data" / "x.csv").exists()


def test_every_store_is_marked_in_its_zarr_json(tmp_path):
    ResultStore.create_or_resume(tmp_path / "s.zarr", fingerprint="a", **layout())
    attributes = json.loads((tmp_path / "s.zarr" / "zarr.json").read_text())["attributes"]
    assert attributes[MARKER] is True and attributes["fingerprint"] == "a"
    assert written_by_batchode(tmp_path / "s.zarr") and not written_by_batchode(tmp_path)


def test_overwrite_never_deletes_an_ordinary_directory(tmp_path):
    project = user_files(tmp_path / "proj")
    with pytest.raises(FileExistsError) as error:
        ResultStore.create_or_resume(project, fingerprint="a", overwrite=True, **layout())
    assert str(error.value).startswith(f"output={str(project)!r} is a directory that batchode did not write")
    assert "not replaced even with overwrite=True" in str(error.value)
    assert intact(project)


def test_overwrite_never_deletes_another_zarr_store(tmp_path):
    zarr = pytest.importorskip("zarr")
    foreign = tmp_path / "theirs.zarr"
    zarr.open_group(str(foreign), mode="w").create_array("a", shape=(3,), dtype="f8")[...] = 1.0
    with pytest.raises(FileExistsError, match="did not write"):
        ResultStore.create_or_resume(foreign, fingerprint="a", overwrite=True, **layout())
    np.testing.assert_array_equal(zarr.open_group(str(foreign), mode="r")["a"][:], 1.0)


def test_overwrite_replaces_a_store_batchode_wrote(tmp_path):
    path = tmp_path / "s.zarr"
    ResultStore.create_or_resume(path, fingerprint="a", **layout(runs=2))
    with pytest.raises(FileExistsError, match="does not hold this sweep"):
        ResultStore.create_or_resume(path, fingerprint="b", **layout(runs=3))
    store = ResultStore.create_or_resume(path, fingerprint="b", overwrite=True, **layout(runs=3))
    assert store.attributes["fingerprint"] == "b" and store.group["y"].shape == (3, 2, 1)


def test_a_file_is_never_replaced(tmp_path):
    path = tmp_path / "results.zarr"
    path.write_text("not a store")
    for overwrite in (False, True):
        with pytest.raises(FileExistsError, match="results.zarr"):
            ResultStore.create_or_resume(path, fingerprint="a", overwrite=overwrite, **layout())
    assert path.read_text() == "not a store"


def test_an_empty_directory_receives_a_store(tmp_path):
    (tmp_path / "empty").mkdir()
    ResultStore.create_or_resume(tmp_path / "empty", fingerprint="a", **layout())
    assert written_by_batchode(tmp_path / "empty")


def test_an_unfinished_store_is_replaced_without_overwrite(tmp_path):
    # A creation that failed before its fingerprint was written holds no results.
    zarr = pytest.importorskip("zarr")
    path = tmp_path / "s.zarr"
    zarr.open_group(str(path), mode="w", attributes={MARKER: True})
    store = ResultStore.create_or_resume(path, fingerprint="a", **layout())
    assert store.attributes["fingerprint"] == "a"


@pytest.mark.parametrize("output", [".", "..", "{cwd}", "{cwd}/.", "sub/.."])
@pytest.mark.parametrize("overwrite", [False, True])
def test_the_working_directory_and_its_parents_are_refused(tmp_path, monkeypatch, output, overwrite):
    work = user_files(tmp_path / "work")
    (work / "sub").mkdir()
    monkeypatch.chdir(work)
    output = output.format(cwd=os.getcwd())
    with pytest.raises(ValueError) as error:
        ResultStore.create_or_resume(output, fingerprint="a", overwrite=overwrite, **layout())
    assert str(error.value).startswith(f"output={output!r} is ")
    assert "working directory" in str(error.value) and "'results.zarr'" in str(error.value)
    assert intact(work)


def test_solve_with_overwrite_keeps_the_users_files(value_solver, tmp_path, monkeypatch):
    # Once: output="proj", overwrite=True deleted the directory; output="." emptied the working directory.
    monkeypatch.chdir(user_files(tmp_path / "work"))
    project = user_files(tmp_path / "work" / "proj")
    with pytest.raises(FileExistsError, match="'proj' is a directory that batchode did not write"):
        value_solver.solve(SPAN, parameters=SWEEP, output="proj", overwrite=True, **WINDOWS)
    with pytest.raises(ValueError, match="output='.' is the working directory"):
        value_solver.solve(SPAN, parameters=SWEEP, output=".", overwrite=True, **WINDOWS)
    assert intact(project) and intact(tmp_path / "work")


def test_an_empty_sweep_creates_no_store_and_the_retry_works(value_solver, tmp_path):
    # Once: "max() arg is an empty sequence", and a half-made store that refused the retry.
    path = tmp_path / "sweep.zarr"
    with pytest.raises(ValueError, match="parameter 'rho': an empty sweep gives no runs; expected at least one value"):
        value_solver.solve(SPAN, parameters={"rho": np.array([])}, output=path, **WINDOWS)
    assert not path.exists()
    result = value_solver.solve(SPAN, parameters=SWEEP, output=path, **WINDOWS)
    assert result.n_runs == 4 and batchode.open_result(path).n_runs == 4


def test_a_store_is_never_created_for_no_runs(tmp_path):
    with pytest.raises(ValueError, match="at least one run and one chunk; got 0 runs in 0 chunks"):
        ResultStore.create_or_resume(tmp_path / "s.zarr", fingerprint="a", **dict(layout(), chunks=[],
                                                                                   initial_state=np.zeros((0, 1))))
    assert not (tmp_path / "s.zarr").exists()
