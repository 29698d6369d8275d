"""Backends: how device functions compile and where each pool's memory lives.

Two backends share every line of algorithm, solver and loop code:

``cpu``
    numba ``njit``; trajectories shared out over worker threads; SHARED
    buffers slice a per-worker scratch arena, LOCAL buffers are stack arrays.
``cuda``
    numba-cuda; one trajectory per thread; SHARED slices dynamic shared
    memory, LOCAL is ``cuda.local.array``. With ``NUMBA_ENABLE_CUDASIM=1``
    (set before ``numba.cuda`` is first imported) this runs in numba's CUDA
    simulator.
"""

from __future__ import annotations

import difflib
import functools
import sys

BACKEND_NAMES = ("cpu", "cuda")


def get_backend(name):
    """Return the backend object for ``"cpu"`` or ``"cuda"`` (a backend object passes through).

    ``numba.cuda`` is imported only when the CUDA backend compiles something,
    so choosing the CPU backend never touches the CUDA toolchain.
    """
    from batchode.backends.base import Backend

    if isinstance(name, Backend):
        return name
    return _backend_by_name(name)


@functools.cache
def _backend_by_name(name):
    if isinstance(name, str):
        key = name.strip().lower()
        if key == "cpu":
            from batchode.backends.cpu import CPUBackend

            return CPUBackend()
        if key == "cuda":
            from batchode.backends.cuda import CUDABackend

            return CUDABackend()
    close = difflib.get_close_matches(str(name).lower(), BACKEND_NAMES + ("auto",), n=2)
    hint = f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""
    raise ValueError(f"unknown backend {name!r}; expected 'cpu', 'cuda' or 'auto'{hint}")


def cuda_usable() -> bool:
    """True when numba-cuda can launch kernels here (a GPU or the simulator)."""
    try:
        from numba import cuda
    except ImportError:  # numba-cuda is a core dependency, but be robust
        return False
    try:
        return bool(cuda.is_available())
    except Exception:  # driver probing can raise on broken installs
        return False


@functools.cache
def _auto_backend_name() -> str:
    if cuda_usable():
        return "cuda"
    print("batchode: no usable CUDA GPU found; running on the CPU backend", file=sys.stderr)
    return "cpu"


def resolve_backend(name: str = "auto"):
    """Resolve ``"cpu"``, ``"cuda"`` or ``"auto"`` to a backend object.

    ``"auto"`` picks CUDA when a GPU is usable, else the CPU with a one-line
    notice on standard error (printed once per process).
    """
    if isinstance(name, str) and name.strip().lower() == "auto":
        return get_backend(_auto_backend_name())
    return get_backend(name)


__all__ = ["BACKEND_NAMES", "cuda_usable", "get_backend", "resolve_backend"]
