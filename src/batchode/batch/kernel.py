"""``BatchKernel``: the factory that turns a per-trajectory body into a kernel."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import sys
import threading
import time

import attrs

from batchode.cache import cached_text
from batchode.factory import CUDAFactory
from batchode.memory.buffer import PERSISTENT_POOL, SHARED_POOL


@attrs.frozen
class KernelBuild:
    """A compiled batch kernel and the per-trajectory memory it was sized for."""

    launch: object
    shared_elements: int
    persistent_elements: int

    @property
    def device_function(self):
        return self.launch


class BatchKernel(CUDAFactory):
    """Launches child ``body`` once per trajectory.

    ``body`` is a factory whose device function has the signature
    ``body(i, shared, persistent, args)``. The kernel asks the body's
    registry for the per-trajectory totals of the backend's arena pools and
    gives every trajectory arenas of exactly that size.
    """

    #: Seconds a compile may run before :meth:`compile_for` says on a terminal what it is doing.
    NOTICE_AFTER = 2.0

    def __init__(self, body: CUDAFactory, *, name="kernel", disk_cache: bool = True):
        #: Keep the compiled kernel in batchode's disk cache (``batchode.cache``). Not a
        #: setting: it changes where the code is kept, not the code.
        self.disk_cache = disk_cache
        super().__init__(name=name, precision=body.precision, backend=body.backend.name)
        self.add_child("body", body)

    def hash_extras(self) -> tuple:
        # Builds are shared in memory by hash: a kernel built without the disk
        # cache must not stand in for one that should write to it.
        return (self.disk_cache,)

    def build(self) -> KernelBuild:
        registry = self.buffer_registry
        shared = registry.pool_elements(SHARED_POOL)
        persistent = registry.pool_elements(PERSISTENT_POOL)
        body = self.child("body").device_function
        launch = self.backend.make_batch_kernel(body, shared, persistent, self.precision,
                                                cache_key=self.config_hash if self.disk_cache else None)
        return KernelBuild(launch, shared, persistent)

    def compile_for(self, args: tuple, description: str = "kernel", notice: bool | None = None) -> float:
        """Compile the kernel (or load it from the disk cache) for arguments like ``args``; return seconds.

        Free once the kernel exists in this process. When ``notice`` (default:
        standard error is a terminal) and the work takes longer than
        :attr:`NOTICE_AFTER` seconds (a real compile, not a cache load), one
        line says what is being compiled.
        """
        started = time.perf_counter()
        launch = self.built.launch
        if notice is None:
            notice = sys.stderr.isatty()
        message = f"batchode: compiling the {description} ({self.precision.name}, {self.backend.name})"
        if self.disk_cache:
            message += "; kept in the compile cache for next time"
        with _notice_after(self.NOTICE_AFTER if notice else None, message), _collector_paused():
            launch.compile(tuple(args))
        return time.perf_counter() - started

    def launch(self, n: int, args: tuple, **options) -> None:
        """Run the body for trajectories ``0 .. n-1`` with arrays ``args``."""
        self.built.launch(n, tuple(args), **options)

    def run_chunks(self, jobs, outputs):
        """Run ``(tag, n, args)`` jobs; yield ``(tag, output arrays)`` (see ``Backend.run_chunks``)."""
        return self.backend.run_chunks(self.built.launch, jobs, outputs)

    def ptx(self, args: tuple, cc=(9, 0)) -> str:
        """PTX of this kernel (CUDA backend) for arguments like ``args``.

        Kept in the disk cache (:func:`batchode.cache.cached_text`) under the
        configuration hash, the argument types and ``cc``, unless the
        factory's ``disk_cache`` is off.
        """
        from batchode.backends.ptx import compile_kernel_ptx

        if self.backend.name != "cuda":
            raise ValueError(f"PTX needs a kernel built for the cuda backend, not {self.backend.name!r}")
        argument_types = kernel_argument_types(args)

        def make() -> str:
            return compile_kernel_ptx(self.built.launch.kernel, argument_types, cc)

        if not self.disk_cache:
            return make()
        key = hashlib.sha256(repr((self.config_hash, tuple(cc), argument_types)).encode()).hexdigest()
        return cached_text("ptx", key, make)

    def ptxas_report(self, args: tuple, arch: str = "sm_90"):
        """Registers, stack frame and spills ptxas reports for this kernel."""
        from batchode.backends.ptx import ptxas_report

        cc = (int(arch[3:-1]), int(arch[-1]))
        return ptxas_report(self.ptx(args, cc), arch)


@contextlib.contextmanager
def _collector_paused():
    """Pause Python's cyclic garbage collector while numba compiles (it is restored as it was).

    numba's compiler makes millions of short-lived objects, and the
    collector's full passes over them took 0.6 s of a 3.3 s cold build
    (Lorenz, Tsit5, measured): reference counting frees almost all of them
    anyway, and the few cycles left are collected once it runs again.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextlib.contextmanager
def _notice_after(seconds: float | None, message: str):
    """Print ``message`` to standard error if the block is still running after ``seconds`` (None: never)."""
    if seconds is None:
        yield
        return
    timer = threading.Timer(seconds, lambda: print(message, file=sys.stderr, flush=True))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def kernel_argument_types(args: tuple) -> tuple:
    """numba types of a batch kernel's ``(n, args)`` for the given example arrays."""
    import numba

    return (numba.int64, numba.typeof(tuple(args)))
