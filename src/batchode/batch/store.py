"""Results written to disk chunk by chunk, in a Zarr store.

Zarr (extra ``export``) because its arrays are cut into independent chunk
files: a chunk of runs is written as whole Zarr chunks, with no
read-modify-write of its neighbours, so every finished chunk is on disk the
moment it is written, a failure later loses nothing, and separate writers
(Dask workers) can fill separate regions of one store. xarray and Dask read
it lazily.

Layout (all run-major): ``t`` (saves), ``initial_state`` (runs, n),
``parameters`` (runs, n_p), ``y`` (runs, rows, n), ``observables`` (runs,
rows, n_obs, only when saved), ``summaries`` (runs, windows, width, only
when selected), ``status``, ``t_final`` and the four counters (runs),
``y_final`` (runs, n), and ``completed``
(one flag per chunk of runs, each in its own Zarr chunk so that concurrent
writers never touch the same file). The attributes hold the names, the
method, the combinatorial grid the runs form (``grid``, see
:meth:`batchode.batch.grid.RunGrid.to_json`), the run ranges of the chunks
and the sweep's ``fingerprint``.

A store whose fingerprint matches the sweep being solved is resumed: the
chunks it completed are kept and only the others are computed.

Only a store batchode wrote is ever replaced: every store is created with
the marker attribute :data:`MARKER` in its ``zarr.json`` (the file Zarr
writes first), and a path without it (an ordinary directory, someone
else's Zarr store) is never deleted, nor is the working directory or any
directory above it. The marker is an attribute rather than a file of its
own because Zarr warns about every file in a group that is not part of
its hierarchy, each time a reader (xarray) lists the group.
"""

from __future__ import annotations

import json
import os
import shutil

import numpy as np

from batchode.batch.export import _require
from batchode.batch.grid import RunGrid
from batchode.batch.results import SolveResult, make_result

#: Output arrays of the kernel that go to the store (besides the summaries).
COUNTER_NAMES = ("n_accepted", "n_rejected", "n_newton_iterations", "n_linear_iterations")
#: The event outputs of the kernel, stored under these names when there are events.
EVENT_OUTPUTS = ("event_counts", "event_times", "event_states")

#: The attribute (value True) in the root ``zarr.json`` of every store batchode creates.
MARKER = "batchode_result_store"


def written_by_batchode(path) -> bool:
    """Whether ``path`` is a directory holding a Zarr store that batchode created (it has :data:`MARKER`)."""
    try:
        with open(os.path.join(os.fspath(path), "zarr.json"), encoding="utf-8") as file:
            attributes = json.load(file).get("attributes", {})
    except (OSError, ValueError, AttributeError):  # no such file, not JSON, not an object
        return False
    return isinstance(attributes, dict) and attributes.get(MARKER) is True


def check_output_path(path) -> None:
    """Refuse an ``output`` path that is the working directory or a directory above it.

    Raises
    ------
    TypeError
        When ``path`` is not a path.
    ValueError
        Naming the path: a store there would mean writing into (and, to
        replace it, deleting) the directory the user works in.
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"output must be a path (str or os.PathLike), got {path!r}")
    target = os.path.realpath(os.fspath(path))
    here = os.path.realpath(os.getcwd())
    if here == target or here.startswith(target.rstrip(os.sep) + os.sep):
        what = "the working directory" if here == target else f"a directory above the working directory {here!r}"
        raise ValueError(f"output={os.fspath(path)!r} is {what}; expected a path for a new Zarr store such as "
                         "'results.zarr' (batchode never writes into or deletes that directory)")


def _occupied(path) -> bool:
    """Whether something is at ``path`` other than an empty directory."""
    name = os.fspath(path)
    return os.path.lexists(name) and not (os.path.isdir(name) and not os.listdir(name))


def _clear(path) -> None:
    """Make way for a new store at ``path``, deleting only a store batchode wrote.

    Raises
    ------
    ValueError
        For the working directory or a directory above it.
    FileExistsError
        When ``path`` is a file, or a non-empty directory that is not a
        batchode store: nothing there is touched.
    """
    check_output_path(path)
    name = os.fspath(path)
    if not _occupied(name):
        return
    if not os.path.isdir(name):
        raise FileExistsError(f"output={name!r} exists and is not a directory; expected a path for a Zarr "
                              "store (batchode only replaces stores it wrote)")
    if not written_by_batchode(name):
        raise FileExistsError(
            f"output={name!r} is a directory that batchode did not write (its zarr.json has no "
            f"{MARKER!r} attribute), so it is not replaced even with overwrite=True; expected a new path or a "
            "batchode result store: choose another path, or remove the directory yourself")
    shutil.rmtree(os.path.realpath(name))


class ResultStore:
    """A Zarr group receiving one batch's results chunk by chunk.

    Parameters
    ----------
    group : zarr.Group
        An open group (see :meth:`create` and :meth:`open`).
    path : str or os.PathLike
        Where it lives (workers reopen it there).
    """

    def __init__(self, group, path):
        self.group = group
        self.path = os.fspath(path)

    @classmethod
    def create_or_resume(cls, path, *, fingerprint: str, overwrite: bool = False, **layout) -> "ResultStore":
        """Reopen the store at ``path`` if it holds this sweep, else create it (see :meth:`create`).

        A store that batchode began to create but never finished (it has
        the marker and no fingerprint, so no results) is replaced as well.

        Raises
        ------
        ValueError
            When ``path`` is the working directory or a directory above it.
        FileExistsError
            When ``path`` holds a different sweep (another fingerprint) and
            ``overwrite`` is False, or is not a store batchode wrote (then
            even with ``overwrite``): nothing there is touched.
        """
        check_output_path(path)
        if not overwrite and _occupied(path):
            existing = cls.open(path, mode="r+") if written_by_batchode(path) else None
            found = None if existing is None else existing.attributes.get("fingerprint")
            if existing is not None and found == fingerprint:
                return existing
            if existing is None or found is not None:
                raise FileExistsError(
                    f"output={os.fspath(path)!r} exists and does not hold this sweep (other inputs, settings "
                    "or chunks, or not a batchode result store); pass overwrite=True to replace a store "
                    "batchode wrote, or choose another path")
        return cls.create(path, metadata=dict(layout.pop("metadata"), fingerprint=fingerprint), **layout)

    @classmethod
    def create(cls, path, *, chunks, times, initial_state, parameters, state_rows, n_observables,
               summary_shape, precision, metadata, event_shape=None) -> "ResultStore":
        """Create the store at ``path`` (replacing a store batchode wrote there) with its inputs written.

        Parameters
        ----------
        path : str or os.PathLike
            A new path, an empty directory, or a store batchode wrote
            (which is deleted first).
        chunks : list of (start, stop)
            The run ranges of the chunks (all but the last of one size), at
            least one.
        times : ndarray (saves,)
        initial_state, parameters : ndarray (runs, n), (runs, n_p)
        state_rows : int
            Saved rows per run.
        n_observables : int
            Observables saved per row (0: no ``observables`` array).
        summary_shape : (windows, width) or None
        event_shape : (events, records) or None
            With events: their count, and the occurrences recorded per event.
        precision : numpy dtype
        metadata : dict
            JSON-compatible attributes (names, method, summary layout...),
            written last: a store without them was never finished.

        Raises
        ------
        ValueError
            For a batch without runs (before anything is written), or a
            ``path`` that is the working directory or above it.
        FileExistsError
            When ``path`` exists and is not a store batchode wrote.
        """
        zarr = _require("zarr", "output=<path>", "export")
        runs, n = initial_state.shape
        if runs == 0 or not chunks:
            raise ValueError(f"a result store needs at least one run and one chunk; got {runs} runs in "
                             f"{len(chunks)} chunks")
        run_chunk = max(stop - start for start, stop in chunks)
        _clear(path)
        group = zarr.open_group(os.fspath(path), mode="w-", attributes={MARKER: True})

        def array(name, shape, dtype, data=None):
            created = group.create_array(name, shape=shape, dtype=dtype,
                                         chunks=(run_chunk, *shape[1:]) if shape and name != "t" else shape)
            if data is not None:
                created[...] = data
            return created

        array("t", times.shape, times.dtype, times)
        array("initial_state", initial_state.shape, initial_state.dtype, initial_state)
        array("parameters", parameters.shape, parameters.dtype, parameters)
        array("y", (runs, state_rows, n), precision)
        if n_observables:
            array("observables", (runs, state_rows, n_observables), precision)
        if summary_shape is not None:
            array("summaries", (runs, *summary_shape), precision)
        if event_shape is not None:
            array("event_counts", (runs, event_shape[0]), np.int32)
            array("event_times", (runs, *event_shape), np.float64)
            array("event_states", (runs, *event_shape, n), precision)
        array("status", (runs,), np.int32)
        array("t_final", (runs,), np.float64)
        array("y_final", (runs, n), precision)
        for name in COUNTER_NAMES:
            array(name, (runs,), np.int32)
        group.create_array("completed", shape=(len(chunks),), dtype=np.int8, chunks=(1,), fill_value=0)
        group.attrs.update(dict(metadata, chunks=[list(c) for c in chunks]))
        return cls(group, path)

    @classmethod
    def open(cls, path, mode="r") -> "ResultStore":
        """Open an existing store (``mode="r+"`` to keep writing).

        Raises
        ------
        FileNotFoundError
            When ``path`` holds no store batchode wrote.
        """
        zarr = _require("zarr", "open_result", "export")
        if not written_by_batchode(path):
            what = "nothing" if not os.path.lexists(os.fspath(path)) else "no store batchode wrote"
            raise FileNotFoundError(f"no batchode result store at {os.fspath(path)!r} ({what} there); expected the "
                                    "path given as output= to a solve")
        return cls(zarr.open_group(os.fspath(path), mode=mode), path)

    @property
    def attributes(self) -> dict:
        return dict(self.group.attrs)

    @property
    def completed_chunks(self) -> list[int]:
        """Indices of the chunks whose outputs are all written."""
        return np.flatnonzero(self.group["completed"][:]).tolist()

    def write_chunk(self, index: int, outputs: dict) -> None:
        """Write chunk ``index``'s outputs (run-major arrays by store name), then mark it complete.

        The mark comes last, so a chunk interrupted mid-write is not
        reported complete.
        """
        start, stop = self.group.attrs["chunks"][index]
        for name, values in outputs.items():
            self.group[name][start:stop] = values
        self.group["completed"][index] = 1


def open_result(path, wall_time: float = 0.0) -> SolveResult:
    """A :class:`SolveResult` reading the Zarr store that ``Solver.solve(output=path)`` wrote.

    ``y`` and ``observables`` stay on disk as Zarr arrays (read on slicing);
    everything else is loaded.

    Raises
    ------
    RuntimeError
        When not every chunk of the store was completed (the solve was
        interrupted); the completed chunks are listed.
    """
    store = ResultStore.open(path)
    attributes, group = store.attributes, store.group
    chunks, done = attributes["chunks"], store.completed_chunks
    if len(done) != len(chunks):
        raise RuntimeError(f"the store at {os.fspath(path)!r} is incomplete: chunks {done} of "
                           f"{len(chunks)} were written")
    parameters = np.asarray(group["parameters"])
    observable_names = tuple(attributes["observable_names"])
    empty_summary = np.empty((parameters.shape[0], 1, 1))
    return make_result(
        attributes, t=np.asarray(group["t"]), y=group["y"],
        observables=group["observables"] if observable_names else None,
        summary=group["summaries"] if "summaries" in group else empty_summary,
        status=np.asarray(group["status"]), t_final=np.asarray(group["t_final"]),
        y_final=np.asarray(group["y_final"]), counters=[np.asarray(group[name]) for name in COUNTER_NAMES],
        event_names=tuple(attributes.get("event_names", ())),
        **{name: np.asarray(group[name]) for name in EVENT_OUTPUTS if name in group},
        initial_state=np.asarray(group["initial_state"]),
        parameters={name: parameters[:, j] for j, name in enumerate(attributes["parameter_names"])},
        state_names=tuple(attributes["state_names"]), observable_names=observable_names,
        method=attributes["method"], backend=attributes["backend"], precision=attributes["precision"],
        wall_time=wall_time, output_path=os.fspath(path),
        # Stores written before grids were kept have no "grid": their runs read back flat.
        grid=RunGrid.from_json(attributes.get("grid", [])),
    )
