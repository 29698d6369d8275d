"""The on-disk compile cache (batchode.cache): hits across processes, misses, bad entries, housekeeping.

Every test points ``$BATCHODE_CACHE_DIR`` at its own ``tmp_path`` (tests run
under pytest-xdist), and compiles only tiny closures.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import platformdirs
import pytest
from numba import njit, prange
from numba.core import event

from batchode import cache
from batchode.cache import CacheInfo, CacheWarning

SRC = Path(cache.__file__).resolve().parents[1]

#: Run in a fresh process: two closures of one configuration (one plain, one
#: parallel=True), a second closure of the first sharing its key, and how many
#: compiles each call took.
CHILD = """
import json, sys
import numpy as np
from numba import njit, prange
from numba.core import event
from batchode import cache

def make_scale(c):
    @njit
    def scale(x):
        return x * c + 1.0
    return scale

def make_total(c):
    @njit(parallel=True)
    def total(x):
        s = 0.0
        for i in prange(x.size):
            s += x[i] * c
        return s
    return total

def compiles(call):
    with event.install_recorder("numba:compile") as recorder:
        value = call()
    return value, sum(1 for _, ev in recorder.buffer if ev.is_start)

report = {}
first, second = make_scale(2.0), make_scale(2.0)
report["installed"] = [cache.install_disk_cache(first, "config-a", "scale"),
                       cache.install_disk_cache(second, "config-a", "scale")]
report["first"] = compiles(lambda: first(1.5))
report["second"] = compiles(lambda: second(1.5))
if "parallel" in sys.argv:
    total = make_total(3.0)
    report["installed"].append(cache.install_disk_cache(total, "config-a", "total"))
    report["total"] = compiles(lambda: total(np.arange(100.0)))
print(json.dumps(report))
"""


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """A fresh cache directory for this test, the cache switched on."""
    directory = tmp_path / "cache"
    monkeypatch.setenv("BATCHODE_CACHE_DIR", str(directory))
    monkeypatch.delenv("BATCHODE_CACHE", raising=False)
    return directory


def run_child(cache_dir: Path, *args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
               BATCHODE_CACHE_DIR=str(cache_dir))
    env.pop("BATCHODE_CACHE", None)
    return subprocess.Popen([sys.executable, "-c", CHILD, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def child_report(process: subprocess.Popen) -> dict:
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert "CacheWarning" not in stderr, stderr
    return json.loads(stdout)


def make_scale(c):
    @njit
    def scale(x):
        return x * c + 1.0
    return scale


def cached_scale(config_key="config-a", label="scale", c=2.0):
    """A new closure (so nothing is compiled in memory yet) with the disk cache installed."""
    function = make_scale(c)
    assert cache.install_disk_cache(function, config_key, label)
    return function


@contextlib.contextmanager
def count_compiles():
    """Counts real compiles (``numba:compile`` events) in the block: ``counter[0]`` after it."""
    counter = [0]
    with event.install_recorder("numba:compile") as recorder:
        yield counter
    counter[0] = sum(1 for _, ev in recorder.buffer if ev.is_start)


def version_folder(cache_dir: Path) -> Path:
    (folder,) = cache_dir.glob("code-*")
    return folder


def only(folder: Path, pattern: str) -> Path:
    (path,) = folder.glob(pattern)
    return path


# -- hits and misses -------------------------------------------------------------------------


def test_second_process_loads_from_cache_without_compiling(cache_dir):
    fresh = child_report(run_child(cache_dir, "parallel"))
    assert fresh["installed"] == [True, True, True]
    assert fresh["first"][1] > 0 and fresh["total"][1] > 0
    # The second closure of the same configuration loads what the first saved.
    assert fresh["second"] == [4.0, 0]

    warm = child_report(run_child(cache_dir, "parallel"))
    assert warm["first"] == [4.0, 0]
    assert warm["second"] == [4.0, 0]
    assert warm["total"] == [fresh["total"][0], 0]
    assert warm["total"][0] == pytest.approx(3.0 * 4950.0)


def test_other_config_key_or_code_version_is_a_miss(cache_dir, monkeypatch):
    with count_compiles() as compiles:
        assert cached_scale("config-a")(1.5) == 4.0
    assert compiles[0] == 1
    with count_compiles() as compiles:
        assert cached_scale("config-a")(1.5) == 4.0
    assert compiles[0] == 0
    with count_compiles() as compiles:
        assert cached_scale("config-b")(1.5) == 4.0
    assert compiles[0] == 1
    with count_compiles() as compiles:
        assert cached_scale("config-a", label="other")(1.5) == 4.0
    assert compiles[0] == 1

    monkeypatch.setattr(cache, "code_version", lambda: "f" * 64)
    with count_compiles() as compiles:
        assert cached_scale("config-a")(1.5) == 4.0
    assert compiles[0] == 1
    # Each code version has its own folder: the new one never lists the old entries.
    assert len(list(cache_dir.glob("code-*"))) == 2


def test_new_signature_is_a_new_entry_of_the_same_configuration(cache_dir):
    function = cached_scale()
    assert function(1.5) == 4.0 and function(np.int64(3)) == 7.0
    folder = version_folder(cache_dir)
    assert len(list(folder.glob("*.nbi"))) == 1 and len(list(folder.glob("*.nbc"))) == 2
    with count_compiles() as compiles:
        again = cached_scale()
        assert again(1.5) == 4.0 and again(np.int64(3)) == 7.0
    assert compiles[0] == 0


def test_flush_and_recompile(cache_dir):
    function = cached_scale()
    assert function(1.5) == 4.0 and function(np.int64(3)) == 7.0
    folder = version_folder(cache_dir)
    with count_compiles() as compiles:
        function.recompile()  # flushes the disk cache, then compiles and saves every signature again
    assert compiles[0] == 2 and len(list(folder.iterdir())) == 3
    function._cache.flush()
    assert not list(folder.iterdir())


def test_code_version_hashes_the_package_source(tmp_path):
    def version_of(package_root):
        env = dict(os.environ, PYTHONPATH=str(package_root))
        out = subprocess.run([sys.executable, "-c", "from batchode import cache; print(cache.code_version())"],
                             env=env, capture_output=True, text=True, timeout=60, check=True)
        return out.stdout.strip()

    copy = tmp_path / "src"
    shutil.copytree(SRC / "batchode", copy / "batchode", ignore=shutil.ignore_patterns("__pycache__"))
    assert version_of(copy) == cache.code_version()  # where it is installed does not matter
    with open(copy / "batchode" / "status.py", "a") as file:
        file.write("\n# an edit\n")
    assert version_of(copy) != cache.code_version()
    assert cache.code_version() is cache.code_version()  # computed once


def test_cache_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("BATCHODE_CACHE_DIR", str(tmp_path / "here"))
    assert cache.cache_directory() == tmp_path / "here"
    monkeypatch.delenv("BATCHODE_CACHE_DIR")
    assert cache.cache_directory() == Path(platformdirs.user_cache_dir("batchode"))


# -- bad entries -------------------------------------------------------------------------------


def flip_middle(path: Path) -> None:
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    path.write_bytes(bytes(blob))


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def garbage(path: Path) -> None:
    path.write_bytes(os.urandom(200))


def empty(path: Path) -> None:
    path.write_bytes(b"")


@pytest.mark.parametrize("damage", [flip_middle, truncate, garbage, empty])
@pytest.mark.parametrize("pattern", ["*.nbc", "*.nbi"], ids=["data", "index"])
def test_damaged_entry_warns_and_recompiles(cache_dir, pattern, damage):
    expected = cached_scale()(1.5)
    damaged = only(version_folder(cache_dir), pattern)
    damage(damaged)

    with pytest.warns(CacheWarning, match="unreadable") as caught, count_compiles() as compiles:
        assert cached_scale()(1.5) == expected
    assert compiles[0] == 1
    assert str(damaged) in str(caught[0].message)
    # The bad file was replaced by a good one: the next closure loads it.
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        with count_compiles() as compiles:
            assert cached_scale()(1.5) == expected
    assert compiles[0] == 0


@pytest.mark.parametrize("pattern", ["*.nbc", "*.nbi"], ids=["data", "index"])
def test_entry_of_another_configuration_is_a_miss(cache_dir, pattern):
    assert cached_scale("config-a", label="a", c=2.0)(1.5) == 4.0
    assert cached_scale("config-b", label="b", c=3.0)(1.5) == 5.5
    folder = version_folder(cache_dir)
    shutil.copyfile(only(folder, "b-" + pattern), only(folder, "a-" + pattern))

    with pytest.warns(CacheWarning, match="another key"), count_compiles() as compiles:
        assert cached_scale("config-a", label="a", c=2.0)(1.5) == 4.0
    assert compiles[0] == 1


def test_entry_of_another_signature_is_a_miss(cache_dir):
    function = cached_scale()
    assert function(1.5) == 4.0 and function(np.int64(3)) == 7.0
    float_entry, int_entry = sorted(version_folder(cache_dir).glob("*.nbc"))
    shutil.copyfile(int_entry, float_entry)
    with pytest.warns(CacheWarning, match="another key"), count_compiles() as compiles:
        again = cached_scale()
        assert again(1.5) == 4.0 and again(np.int64(3)) == 7.0
    assert compiles[0] == 1


def test_payload_that_cannot_be_rebuilt_warns_and_recompiles(cache_dir, monkeypatch):
    expected = cached_scale()(1.5)

    def broken(self, target_context, payload):
        raise ValueError("cannot rebuild")

    monkeypatch.setattr(cache._CPUImpl, "rebuild", broken)
    with pytest.warns(CacheWarning, match="cannot rebuild"), count_compiles() as compiles:
        assert cached_scale()(1.5) == expected
    assert compiles[0] == 1


def test_failed_save_warns_and_the_function_still_works(cache_dir, monkeypatch):
    def disk_full(path, blob):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache, "_write_atomic", disk_full)
    with pytest.warns(CacheWarning, match="could not save.*No space left"):
        assert cached_scale()(1.5) == 4.0
    assert not list(version_folder(cache_dir).glob("*.nb?"))


# -- concurrency, unwritable and disabled caches -----------------------------------------------


def test_two_processes_filling_one_entry_leave_a_valid_cache(cache_dir):
    racers = [run_child(cache_dir), run_child(cache_dir)]
    for racer in racers:
        assert child_report(racer)["second"] == [4.0, 0]
    assert not list(version_folder(cache_dir).glob("*.tmp.*"))
    third = child_report(run_child(cache_dir))
    assert third["first"] == [4.0, 0] and third["second"] == [4.0, 0]


def unwritable_cache_dir(tmp_path: Path) -> Path:
    """A cache directory that cannot be created or written, even by root."""
    if os.geteuid() != 0:
        read_only = tmp_path / "read-only"
        read_only.mkdir()
        read_only.chmod(0o500)
        return read_only / "cache"
    # Root writes through permission bits; nothing can be made beneath a regular file.
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    return blocker / "cache"


def test_unwritable_directory_warns_once_and_compiles_in_memory(tmp_path, monkeypatch):
    directory = unwritable_cache_dir(tmp_path)
    monkeypatch.setenv("BATCHODE_CACHE_DIR", str(directory))
    monkeypatch.delenv("BATCHODE_CACHE", raising=False)
    functions = [make_scale(2.0), make_scale(3.0)]
    before = [function._cache for function in functions]
    made = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert [cache.install_disk_cache(function, "config-a", "scale") for function in functions] == [False, False]
        assert cache.cached_text("ptx", "key", lambda: made.append(1) or "text") == "text"
        assert cache.cached_text("ptx", "key", lambda: made.append(1) or "text") == "text"
    messages = [str(warning.message) for warning in caught if issubclass(warning.category, CacheWarning)]
    assert len(messages) == 1
    assert messages[0].startswith("batchode: compile cache directory ")
    assert "is not writable" in messages[0] and messages[0].endswith("; compiling in memory")
    assert [function._cache for function in functions] == before
    assert functions[0](1.5) == 4.0 and functions[1](1.5) == 5.5
    assert made == [1, 1]


@pytest.mark.parametrize("setting", ["0", "off", "OFF"])
def test_disabled_by_environment(cache_dir, monkeypatch, setting):
    monkeypatch.setenv("BATCHODE_CACHE", setting)
    function = make_scale(2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not cache.install_disk_cache(function, "config-a", "scale")
        assert cache.cached_text("ptx", "key", lambda: "text") == "text"
    assert function(1.5) == 4.0
    assert not cache_dir.exists()


def test_install_refuses_what_is_not_a_dispatcher(cache_dir):
    with pytest.raises(TypeError, match="dispatcher"):
        cache.install_disk_cache(lambda x: x, "config-a", "scale")


# -- info and clear ----------------------------------------------------------------------------


def test_info_counts_entries_and_clear_removes_only_batchode_files(cache_dir):
    assert cache.info() == CacheInfo(directory=cache_dir, entries=0, bytes=0)
    cached_scale("config-a", label="a")(1.5)
    cached_scale("config-b", label="b")(1.5)
    cache.cached_text("ptx", "key", lambda: "text")
    folder = version_folder(cache_dir)
    files = list(folder.iterdir())
    assert len(files) == 5  # two indexes, two data files, one text entry

    summary = cache.info()
    assert summary.directory == cache_dir
    assert summary.entries == 3
    assert summary.bytes == sum(path.stat().st_size for path in files)
    assert str(summary).startswith(f"batchode compile cache {cache_dir}: 3 entries, ")

    foreign = cache_dir / "notes.txt"
    foreign.write_text("mine")
    (cache_dir / "other").mkdir()
    (cache_dir / "other" / "kept.nbc").write_text("mine too")

    assert cache.clear() == 5
    assert cache.info() == CacheInfo(directory=cache_dir, entries=0, bytes=0)
    assert not folder.exists()
    assert foreign.read_text() == "mine" and (cache_dir / "other" / "kept.nbc").read_text() == "mine too"
    # A cleared cache fills again.
    with count_compiles() as compiles:
        assert cached_scale("config-a", label="a")(1.5) == 4.0
    assert compiles[0] == 1 and cache.info().entries == 1


def test_clear_on_a_missing_directory(cache_dir):
    assert cache.clear() == 0
    assert cache.info().entries == 0


def test_cache_info_str_sizes():
    assert str(CacheInfo(Path("/c"), 1, 512)) == "batchode compile cache /c: 1 entries, 512 B"
    assert str(CacheInfo(Path("/c"), 2, 3 * 1024 * 1024)) == "batchode compile cache /c: 2 entries, 3.0 MiB"


# -- text entries ------------------------------------------------------------------------------


def test_cached_text_round_trip(cache_dir):
    made = []

    def make(text):
        return lambda: made.append(text) or text

    assert cache.cached_text("ptx", "config-a sm_90", make("first")) == "first"
    assert cache.cached_text("ptx", "config-a sm_90", make("second")) == "first"
    assert cache.cached_text("ptx", "config-a sm_80", make("third \u00b5")) == "third \u00b5"
    assert cache.cached_text("other", "config-a sm_80", make("fourth")) == "fourth"
    assert cache.cached_text("ptx", "config-a sm_80", make("fifth")) == "third \u00b5"
    assert made == ["first", "third \u00b5", "fourth"]
    with pytest.raises(ValueError, match="kind"):
        cache.cached_text("../ptx", "key", make("x"))


@pytest.mark.parametrize("damage", [flip_middle, truncate, garbage, empty])
def test_cached_text_corruption_is_remade(cache_dir, damage):
    assert cache.cached_text("ptx", "key", lambda: "text " * 100) == "text " * 100
    stored = only(version_folder(cache_dir), "ptx-*.txt")
    damage(stored)
    with pytest.warns(CacheWarning, match="unreadable"):
        assert cache.cached_text("ptx", "key", lambda: "text " * 100) == "text " * 100
    assert cache.cached_text("ptx", "key", lambda: "not called") == "text " * 100


def test_cached_text_of_another_key_is_remade(cache_dir):
    cache.cached_text("ptx", "key-a", lambda: "a")
    cache.cached_text("ptx", "key-b", lambda: "b")
    first, second = version_folder(cache_dir).glob("ptx-*.txt")
    shutil.copyfile(first, second)
    with pytest.warns(CacheWarning, match="another key"):
        remade = cache.cached_text("ptx", "key-a", lambda: "a") + cache.cached_text("ptx", "key-b", lambda: "b")
    assert remade == "ab"


def test_cached_text_writes_atomically(cache_dir, monkeypatch):
    replaced = []
    real_replace = os.replace

    def record_replace(source, destination):
        # The whole text is in the temporary file before it takes the entry's name.
        replaced.append((Path(source).read_bytes(), Path(destination)))
        real_replace(source, destination)

    monkeypatch.setattr(os, "replace", record_replace)
    assert cache.cached_text("ptx", "key", lambda: "text") == "text"
    ((blob, destination),) = replaced
    assert blob.endswith(b"\ntext") and destination.read_bytes() == blob

    def failing_replace(source, destination):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.warns(CacheWarning, match="could not save"):
        assert cache.cached_text("ptx", "other", lambda: "other") == "other"
    # Neither a partial entry nor the temporary file is left behind.
    assert sorted(path.name for path in version_folder(cache_dir).iterdir()) == [destination.name]


# -- CUDA dispatchers (no GPU: only the cache object and its key) ------------------------------


class FakeCodegen:
    """Stands in for the CUDA codegen, whose magic tuple needs a device."""

    def magic_tuple(self):
        return ("cuda runtime", (9, 0))


def test_cuda_dispatcher_gets_a_keyed_cache(cache_dir, monkeypatch):
    from numba import cuda
    from numba.cuda.dispatcher import CUDACache

    def make_kernel():
        @cuda.jit
        def bump(x):
            i = cuda.grid(1)
            if i < x.size:
                x[i] += 1.0
        return bump

    def index_key(config_key):
        kernel = make_kernel()
        assert cache.install_disk_cache(kernel, config_key, "bump")
        assert isinstance(kernel._cache, CUDACache)
        kernel._configure_cache_for_launch_config(None)
        return kernel, kernel._cache._index_key(("sig",), FakeCodegen())

    kernel, key = index_key("config-a")
    assert key[:2] == (("sig",), ("cuda runtime", (9, 0)))  # the compute capability is in the key
    assert key == index_key("config-a")[1]
    assert key != index_key("config-b")[1]
    monkeypatch.setattr(cache, "code_version", lambda: "f" * 64)
    assert key != index_key("config-a")[1]
    assert Path(kernel._cache.cache_path).parent == cache_dir

    # numba-cuda's launch-configuration keying still applies on top.
    kernel._cache.set_launch_config_key(((1, 1, 1), (32, 1, 1), 0))
    assert kernel._cache._index_key(("sig",), FakeCodegen()) == key + (("launch_config", ((1, 1, 1), (32, 1, 1), 0)),)
    assert not kernel._cache.is_launch_config_sensitive()
    assert kernel._cache.mark_launch_config_sensitive() and kernel._cache.is_launch_config_sensitive()


def test_function_ids_are_random_on_both_targets_without_importing_numba_cuda_early():
    script = """
import sys
import batchode
from numba.core.bytecode import FunctionIdentity
print(type(FunctionIdentity._unique_ids).__name__, "numba.cuda" in sys.modules)
import batchode.backends.cuda
from numba.cuda.core.bytecode import FunctionIdentity as CUDAFunctionIdentity
print(type(CUDAFunctionIdentity._unique_ids).__name__)
"""
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    # numba.cuda's import costs about 0.25 s that CPU-only processes skip.
    assert output.split() == ["_RandomIds", "False", "_RandomIds"]
