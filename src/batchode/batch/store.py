"""Results written to disk chunk by chunk, in a Zarr store.

Zarr (extra ``export``) because its arrays are cut into independent chunk
files: a chunk of runs is written as whole Zarr chunks, with no
read-modify-write of its neighbours, so every finished chunk is on disk the
moment it is written, a failure later loses nothing, and separate writers
(Dask workers) can fill separate regions of one store. xarray and Dask read
it lazily.

Layout (all run-major): ``t`` (saves), ``initial_state`` (runs, n),
``parameters`` (runs, n_p), one array per result field of the batch (``y``,
``status``, the counters...; their names, shapes and dtypes come from the
kernel's I/O schema, :data:`batchode.batch.body.SCHEMA`), and ``completed``
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

from batchode.batch.body import SCHEMA
from batchode.batch.export import _require
from batchode.batch.results import SolveResult, make_result

#: Result fields that stay on disk when a store is read (the large ones); the others are loaded.
LAZY_FIELDS = ("y", "observables")

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
    def create(cls, path, *, chunks, times, initial_state, parameters, outputs, metadata) -> "ResultStore":
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
        outputs : dict
            ``name -> (per-run shape, dtype)`` of the arrays the chunks fill
            (:meth:`batchode.batch.body.KernelSchema.field_layout`).
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
        runs = initial_state.shape[0]
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
        for name, (dims, dtype) in outputs.items():
            array(name, (runs, *dims), dtype)
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
    names = [field.name for field in SCHEMA.fields if field.name in group]
    fields = {name: group[name] if name in LAZY_FIELDS else np.asarray(group[name]) for name in names}
    return make_result(attributes, fields, t=np.asarray(group["t"]), initial_state=np.asarray(group["initial_state"]),
                       parameters=np.asarray(group["parameters"]), wall_time=wall_time, output_path=os.fspath(path))
