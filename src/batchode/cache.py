"""On-disk cache of compiled kernels, keyed by configuration hash.

Numba's own ``cache=True`` never hits across processes for batchode's
kernels: its index key hashes the pickled contents of a function's closure,
and the pickles of the closures batchode builds differ from process to
process. This module keys a numba dispatcher's disk cache by what actually
determines the code instead:

- the factory's ``config_hash`` (every compile-time setting), and a label
  naming the function within that configuration;
- :func:`code_version`: batchode's source and the versions of numba,
  numba-cuda, llvmlite, numpy and Python;
- the target: numba's ``codegen.magic_tuple()``, which is the LLVM triple,
  CPU name and CPU features on the CPU, and the CUDA runtime version and the
  device's compute capability on the GPU.

Layout: ``cache_directory() / "code-<16 hex of code_version()>"`` holds every
entry of one code version, so a new batchode or numba never even lists old
entries; :func:`clear` removes those folders. Per configuration there is one
index file (``<label>-<cpu|cuda>-<key>.nbi``) and one data file per signature
and target (``...<entry>.nbc``); :func:`cached_text` keeps small text entries
(PTX) beside them (``<kind>-<key>.txt``).

Symbols must not collide across processes. Numba names each compiled
function after its qualified name and a per-process counter (``v<uid>``),
and the functions a kernel calls (not inlined) are linked into the process
by those names. A process that compiles one kernel and loads another from
the cache can hold two different bodies under one name, and LLVM then
calls whichever it met first: wrong results, silently (numba issue 10486).
Importing this module therefore makes numba draw function ids at random
(:func:`random_function_ids`), so names from different processes never
meet.

Every file is written to a temporary name and moved into place with
``os.replace``, and starts with a header naming the key it was written for
and the sha256 of its body. A reader checks both before it unpickles
anything, so a truncated, corrupted or foreign file is a warning, is removed
and is compiled again; it never loads wrong code. Nothing here imports the
rest of batchode, so the backends can import it freely.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.metadata
import json
import os
import pickle
import re
import secrets
import sys
import tempfile
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path

import attrs
import platformdirs
from numba.core import bytecode as numba_bytecode
from numba.core.caching import CompileResultCacheImpl, FunctionCache
from numba.core.dispatcher import Dispatcher
from numba.core.serialize import dumps as _cpu_dumps

__all__ = [
    "CacheInfo", "CacheWarning", "cache_directory", "cached_text", "clear", "code_version", "info",
    "install_disk_cache",
]

class _RandomIds:
    """An endless iterator of random 63-bit integers (a stand-in for ``itertools.count``)."""

    def __iter__(self):
        return self

    def __next__(self) -> int:
        return secrets.randbits(63)


def random_function_ids() -> None:
    """Make numba (and numba-cuda, if imported) number the functions it compiles at random.

    Every compiled function's symbol carries its id. With numba's counter,
    two processes that compile in different orders give the same id to
    different functions of the same name, and a kernel loaded from the
    cache can then call another kernel's function (see the module's
    docstring). 63 random bits make such a meeting practically impossible;
    within a process ids stay distinct just the same.

    numba-cuda is left alone until something else imports it (its import
    takes about 0.25 s, which CPU-only processes skip): the CUDA backend
    calls this again right after importing it, before it compiles anything.
    """
    for module in (numba_bytecode, sys.modules.get("numba.cuda.core.bytecode")):
        identity = getattr(module, "FunctionIdentity", None)
        if identity is not None and not isinstance(identity._unique_ids, _RandomIds):
            identity._unique_ids = _RandomIds()


random_function_ids()

#: First field of every file's header; a new file format gets a new tag.
_MAGIC = b"batchode-cache-v1"
#: Names of the per-code-version folders: the only folders :func:`clear` touches.
_VERSION_FOLDER = re.compile(r"code-[0-9a-f]{16}")
#: What a text entry's ``kind`` may be (it becomes part of a file name).
_KIND = re.compile(r"[A-Za-z0-9_]{1,32}")
#: Values of ``$BATCHODE_CACHE`` that turn the disk cache off.
_OFF = frozenset({"0", "off", "false", "no"})

#: Directories already reported as not writable in this process (one warning each).
_warned_directories: set[str] = set()


class CacheWarning(UserWarning):
    """The compile cache could not be used as asked; batchode compiled instead."""


class _BadEntry(Exception):
    """A cache file that is not a valid entry for the key it was read for."""


@attrs.frozen
class CacheInfo:
    """What the compile cache holds on disk, over every code version.

    Attributes
    ----------
    directory : pathlib.Path
        The cache directory, :func:`cache_directory`.
    entries : int
        Cached configurations: one per kernel index file and one per text
        entry.
    bytes : int
        Size of every file in batchode's folders of the directory.
    """

    directory: Path
    entries: int
    bytes: int

    def __str__(self) -> str:
        size = float(self.bytes)
        for unit in ("B", "KiB", "MiB", "GiB"):
            if size < 1024.0 or unit == "GiB":
                break
            size /= 1024.0
        amount = f"{self.bytes} B" if unit == "B" else f"{size:.1f} {unit}"
        return f"batchode compile cache {self.directory}: {self.entries} entries, {amount}"


def cache_directory() -> Path:
    """Root directory of the compile cache.

    Returns
    -------
    pathlib.Path
        ``$BATCHODE_CACHE_DIR`` if it is set and not empty, else the user's
        cache directory for batchode (``platformdirs.user_cache_dir``).
        Entries live in a subfolder per :func:`code_version`.
    """
    configured = os.environ.get("BATCHODE_CACHE_DIR")
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_cache_dir("batchode"))


@functools.cache
def code_version() -> str:
    """Hash of everything besides the configuration that shapes compiled code.

    Computed once per process.

    Returns
    -------
    str
        sha256 hex digest over every ``.py`` file of the installed batchode
        package (sorted relative paths and contents) and the versions of
        numba, numba-cuda, llvmlite, numpy and Python.
    """
    hasher = hashlib.sha256()
    package = Path(__file__).resolve().parent
    files = sorted((path.relative_to(package).as_posix(), path) for path in package.rglob("*.py"))
    for relative, path in files:
        # A digest per file keeps the stream unambiguous (no content can imitate a file boundary).
        hasher.update(f"{relative}\0{hashlib.sha256(path.read_bytes()).hexdigest()}\n".encode())
    for distribution in ("numba", "numba-cuda", "llvmlite", "numpy"):
        try:
            version = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            version = "absent"
        hasher.update(f"{distribution}={version}\n".encode())
    hasher.update(f"{sys.implementation.name} {sys.implementation.cache_tag} {sys.version}\n".encode())
    return hasher.hexdigest()


def install_disk_cache(dispatcher, config_key: str, label: str) -> bool:
    """Give a numba dispatcher a disk cache keyed by configuration, not closure contents.

    Parameters
    ----------
    dispatcher : numba.core.dispatcher.Dispatcher or numba.cuda.dispatcher.CUDADispatcher
        A CPU dispatcher (``njit``, ``parallel=True`` included) or a
        numba-cuda kernel dispatcher (``cuda.jit``).
    config_key : str
        Hash of everything that shapes the function's code (the factory's
        ``config_hash``). Two dispatchers with the same key and label share
        their entries, whatever their closures hold, so the key must cover
        every value the closures capture.
    label : str
        Names the function within its configuration (a configuration may
        compile several functions); part of the key and of the file names.

    Returns
    -------
    bool
        True if the cache is installed. False, leaving the dispatcher as it
        was (compiling in memory), when ``$BATCHODE_CACHE`` is ``0``, ``off``,
        ``false`` or ``no``, or when the directory cannot be created or written; the latter warns
        (:class:`CacheWarning`) once per process and directory.

    Raises
    ------
    TypeError
        If ``dispatcher`` is neither kind of dispatcher.
    """
    # A CUDA dispatcher exists only once numba.cuda.dispatcher is imported: looking it up in
    # sys.modules spares CPU-only processes the import of numba.cuda.
    cuda_dispatcher = sys.modules.get("numba.cuda.dispatcher")
    if cuda_dispatcher is not None and isinstance(dispatcher, cuda_dispatcher.CUDADispatcher):
        kind, cache_class = "cuda", _cuda_cache_class()
    elif isinstance(dispatcher, Dispatcher):
        kind, cache_class = "cpu", _CPUCache
    else:
        raise TypeError(f"install_disk_cache needs a numba CPU or CUDA dispatcher, not {type(dispatcher).__name__}")
    directory = None if _disabled() else _writable_directory()
    if directory is None:
        return False
    identity = _digest(json.dumps([kind, label, config_key, code_version()]))
    safe_label = re.sub(r"[^A-Za-z0-9_.-]", "_", label)[:48]
    dispatcher._cache = cache_class(dispatcher.py_func, directory, f"{safe_label}-{kind}-{identity[:24]}", identity)
    return True


def cached_text(kind: str, key: str, make: Callable[[], str]) -> str:
    """Text stored on disk under a key, made and stored on first use.

    Parameters
    ----------
    kind : str
        What the text is (``"ptx"``); letters, digits and underscores.
    key : str
        Everything the text depends on besides :func:`code_version` (for
        PTX: the configuration hash and the compute capability).
    make : callable
        Makes the text when it is not stored (or the stored copy is bad).

    Returns
    -------
    str
        The stored text if there is a valid copy, else ``make()``, which is
        then stored atomically. A bad copy warns and is replaced; an
        unwritable directory warns once and ``make()`` runs every time.
    """
    if not _KIND.fullmatch(kind):
        raise ValueError(f"cached_text kind must be 1-32 letters, digits or underscores, not {kind!r}")
    directory = None if _disabled() else _writable_directory()
    if directory is None:
        return make()
    identity = _digest(json.dumps(["text", kind, key, code_version()]))
    path = directory / f"{kind}-{identity[:32]}.txt"
    text = _load_sealed(path, identity, lambda body: body.decode("utf-8"))
    if text is None:
        text = make()
        try:
            _write_atomic(path, _seal(identity, text.encode("utf-8")))
        except OSError as exc:
            _warn_unsaved(path, exc)
    return text


def info() -> CacheInfo:
    """Entries and bytes the compile cache holds, over every code version.

    Returns
    -------
    CacheInfo
    """
    root = cache_directory()
    entries = size = 0
    for folder in _version_folders(root):
        for entry in _files(folder.path):
            entries += entry.name.endswith((".nbi", ".txt"))
            with contextlib.suppress(FileNotFoundError):  # another process may be clearing
                size += entry.stat(follow_symlinks=False).st_size
    return CacheInfo(directory=root, entries=entries, bytes=size)


def clear() -> int:
    """Remove every batchode cache entry under :func:`cache_directory`.

    Only batchode's per-code-version folders (``code-<16 hex>``) are
    emptied and removed; nothing else in the directory is touched.

    Returns
    -------
    int
        How many files were removed.
    """
    removed = 0
    for folder in _version_folders(cache_directory()):
        for entry in _files(folder.path):
            try:
                os.unlink(entry.path)
            except OSError:  # removed by another process, or not ours to remove
                continue
            removed += 1
        with contextlib.suppress(OSError):  # not empty if something else was put there
            os.rmdir(folder.path)
    return removed


# -- numba cache classes ----------------------------------------------------------------


class _Locator:
    """The part of a numba cache locator that numba's cache classes still use.

    ``Cache._save_overload`` calls ``ensure_cache_path``, CUDA's launch-config
    marker calls it too, and ``CompileResultCacheImpl.check_cachable`` names
    ``_py_file`` in its warning.
    """

    def __init__(self, py_func, directory: Path):
        self._py_file = py_func.__code__.co_filename
        self._directory = directory

    def ensure_cache_path(self) -> None:
        # Recreated if clear() ran since the cache was installed.
        self._directory.mkdir(parents=True, exist_ok=True)


class _ImplMixin:
    """Set what numba's ``CacheImpl.__init__`` sets, without its locator search.

    That search looks for a writable place beside the function's source file,
    which batchode's generated closures do not have and which is the wrong
    place anyway.
    """

    def __init__(self, py_func, locator: _Locator, filename_base: str):
        self._lineno = py_func.__code__.co_firstlineno
        self._locator = locator
        self._filename_base = filename_base


class _CPUImpl(_ImplMixin, CompileResultCacheImpl):
    """numba's CPU compile-result (de)serialisation, located in batchode's cache."""


class _EntryStore:
    """The index and data files of one configuration.

    Plays the part of numba's ``IndexDataCacheFile`` (``load``, ``save``,
    ``flush``), with sealed files: a header naming the key and the body's
    sha256. The index is JSON (entry digest -> the entry's key, for reading),
    so a bad index cannot run code when it is read. Data files are named by
    their entry's digest, so processes saving different signatures never
    write the same file.
    """

    def __init__(self, directory: Path, base: str, identity: str, dumps: Callable[[object], bytes]):
        self._directory = directory
        self._base = base
        self._identity = identity
        self._dumps = dumps
        self._index_path = directory / f"{base}.nbi"

    def load(self, key) -> tuple[Path, object] | None:
        """``(data file, payload)`` for ``key``, or None (absent or bad, the latter warned and removed)."""
        entry = _digest(repr(key))
        if entry not in self._load_index():
            return None
        path = self._data_path(entry)
        payload = _load_sealed(path, entry, pickle.loads)
        return None if payload is None else (path, payload)

    def save(self, key, payload) -> None:
        """Write ``payload`` for ``key``: data first, so the index never lists a missing entry."""
        entry = _digest(repr(key))
        _write_atomic(self._data_path(entry), _seal(entry, self._dumps(payload)))
        index = self._load_index()
        if entry not in index:
            # Two processes adding entries at once may drop one of them: a later miss, never a wrong entry.
            index[entry] = repr(key)
            _write_atomic(self._index_path, _seal(self._identity, json.dumps(index).encode()))

    def flush(self) -> None:
        """Remove this configuration's index and every data file it lists."""
        for entry in self._load_index():
            with contextlib.suppress(OSError):
                os.unlink(self._data_path(entry))
        with contextlib.suppress(OSError):
            os.unlink(self._index_path)

    def _data_path(self, entry: str) -> Path:
        return self._directory / f"{self._base}.{entry[:20]}.nbc"

    def _load_index(self) -> dict[str, str]:
        index = _load_sealed(self._index_path, self._identity, _parse_index)
        return {} if index is None else index


class _KeyedCacheMixin:
    """What the CPU and CUDA caches share: batchode's key, sealed files, and loads and saves that never fail.

    A subclass's ``__init__`` calls :meth:`_setup` instead of numba's
    ``Cache.__init__``, which would search for a locator (see ``_ImplMixin``).
    """

    def _setup(self, py_func, directory: Path, identity: str, impl, dumps: Callable[[object], bytes]) -> None:
        self._name = repr(py_func)
        self._py_func = py_func
        self._impl = impl
        self._cache_path = str(directory)
        self._identity = identity
        self._cache_file = _EntryStore(directory, impl.filename_base, identity, dumps)
        self.enable()

    def _index_key(self, sig, codegen):
        # magic_tuple names the target: LLVM triple, CPU name and features on
        # the CPU; CUDA runtime version and compute capability on the GPU.
        return (sig, codegen.magic_tuple(), self._identity)

    def _load_overload(self, sig, target_context):
        if not self._enabled:
            return None
        loaded = self._cache_file.load(self._index_key(sig, target_context.codegen()))
        if loaded is None:
            return None
        path, payload = loaded
        try:
            return self._impl.rebuild(target_context, payload)
        except Exception as exc:  # a payload numba cannot rebuild is as bad as a corrupt file
            _discard(path, exc)
            return None

    def save_overload(self, sig, data):
        try:
            super().save_overload(sig, data)
        except Exception as exc:  # disk full, permissions, an unpicklable constant: compiled code still works
            _warn_unsaved(Path(self._cache_path), exc)


class _CPUCache(_KeyedCacheMixin, FunctionCache):
    """Disk cache of a numba CPU dispatcher, keyed by batchode's key."""

    def __init__(self, py_func, directory: Path, filename_base: str, identity: str):
        impl = _CPUImpl(py_func, _Locator(py_func, directory), filename_base)
        self._setup(py_func, directory, identity, impl, _cpu_dumps)


@functools.cache
def _cuda_cache_class():
    """The CUDA cache class, built on first use so CPU-only work never imports numba.cuda."""
    from numba.cuda.dispatcher import CUDACache, CUDACacheImpl
    from numba.cuda.serialize import dumps as cuda_dumps

    class _CUDAImpl(_ImplMixin, CUDACacheImpl):
        """numba-cuda's kernel (de)serialisation, located in batchode's cache."""

    class _CUDACache(_KeyedCacheMixin, CUDACache):
        """Disk cache of a numba-cuda kernel dispatcher, keyed by batchode's key.

        A ``CUDACache`` subclass, so the dispatcher's launch-configuration
        machinery (which checks ``isinstance(..., CUDACache)``) works as
        with numba-cuda's own cache.
        """

        def __init__(self, py_func, directory: Path, filename_base: str, identity: str):
            # What CUDACache.__init__ sets before and after numba's Cache.__init__.
            self._launch_config_key = None
            self._launch_config_sensitive_flag = None
            self._launch_config_marker_path = str(directory / f"{filename_base}.lcs")
            impl = _CUDAImpl(py_func, _Locator(py_func, directory), filename_base)
            self._setup(py_func, directory, identity, impl, cuda_dumps)

        def _index_key(self, sig, codegen):
            # As CUDACache._index_key: kernels whose code depends on the launch
            # configuration are keyed by it too.
            key = super()._index_key(sig, codegen)
            if self._launch_config_key is None:
                return key
            return key + (("launch_config", self._launch_config_key),)

    return _CUDACache


# -- files ------------------------------------------------------------------------------


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _disabled() -> bool:
    return os.environ.get("BATCHODE_CACHE", "").strip().lower() in _OFF


def _writable_directory() -> Path | None:
    """This code version's folder, created; None (warned once per directory) if it cannot be written."""
    directory = cache_directory() / f"code-{code_version()[:16]}"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=directory).close()
    except OSError as exc:
        if str(directory) not in _warned_directories:
            _warned_directories.add(str(directory))
            warnings.warn(f"batchode: compile cache directory {directory} is not writable ({exc}); "
                          "compiling in memory", CacheWarning, stacklevel=3)
        return None
    return directory


def _seal(identity: str, body: bytes) -> bytes:
    """``body`` behind a header naming the key it belongs to and its checksum."""
    return b"%s %s %s\n%s" % (_MAGIC, identity.encode(), hashlib.sha256(body).hexdigest().encode(), body)


def _unseal(blob: bytes, identity: str) -> bytes:
    """The body of a sealed file written for ``identity``; :class:`_BadEntry` otherwise."""
    header, newline, body = blob.partition(b"\n")
    fields = header.split(b" ")
    if not newline or len(fields) != 3 or fields[0] != _MAGIC:
        raise _BadEntry("not a batchode cache file")
    if fields[1] != identity.encode():
        raise _BadEntry("written for another key")
    if fields[2] != hashlib.sha256(body).hexdigest().encode():
        raise _BadEntry("checksum mismatch: truncated or corrupted")
    return body


def _load_sealed(path: Path, identity: str, parse: Callable[[bytes], object]):
    """``parse`` of the body of ``path``; None if it is absent or bad (bad: warned and removed)."""
    try:
        return parse(_unseal(path.read_bytes(), identity))
    except FileNotFoundError:
        return None
    except Exception as exc:  # unreadable, foreign, corrupt, or a body that does not parse
        _discard(path, exc)
        return None


def _parse_index(body: bytes) -> dict[str, str]:
    index = json.loads(body)
    if not isinstance(index, dict) or not all(isinstance(value, str) for value in index.values()):
        raise _BadEntry("index is not a mapping of entries")
    return index


def _write_atomic(path: Path, blob: bytes) -> None:
    """Write ``blob`` to ``path`` so that readers see the old file or the whole new one.

    The unique temporary name keeps concurrent writers apart. No fsync: a
    file cut short by a crash fails its checksum and is recompiled.
    """
    temporary = path.with_name(f"{path.name}.tmp.{uuid.uuid4().hex[:16]}")
    try:
        with open(temporary, "wb") as file:
            file.write(blob)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _discard(path: Path, error: Exception) -> None:
    warnings.warn(f"batchode: compile cache entry {path} is unreadable ({error}); recompiling", CacheWarning)
    # Another process may have just replaced the file with a good one; removing that only costs a compile.
    with contextlib.suppress(OSError):
        os.unlink(path)


def _warn_unsaved(path: Path, error: Exception) -> None:
    warnings.warn(f"batchode: could not save to the compile cache at {path} ({error}); compiled in memory only",
                  CacheWarning)


def _version_folders(root: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(root) as entries:
            return [entry for entry in entries
                    if _VERSION_FOLDER.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False)]
    except OSError:  # no cache directory yet
        return []


def _files(folder: str) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as entries:
            return [entry for entry in entries if entry.is_file(follow_symlinks=False)]
    except OSError:
        return []
