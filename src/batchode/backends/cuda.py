"""CUDA backend: numba-cuda device functions and a one-thread-per-trajectory kernel.

Under ``NUMBA_ENABLE_CUDASIM=1`` the same code runs in numba's CUDA simulator.
This module imports ``numba.cuda``; ``batchode.backends.get_backend`` imports
it only when the CUDA backend is asked for, because the simulator switch is
read at that import. Kernels reference ``cuda`` as a module global so that the
simulator can swap in its thread-aware stand-in.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import cuda

from batchode.backends.base import Backend
from batchode.cache import install_disk_cache, random_function_ids

random_function_ids()  # numba-cuda is imported now: its function ids too (see batchode.cache)

#: Threads per block when shared memory does not force fewer.
DEFAULT_THREADS_PER_BLOCK = 128
#: Per-block shared memory a kernel may use without opting in (all GPUs since sm_20).
DEFAULT_SHARED_BYTES_PER_BLOCK = 48 * 1024
WARP_SIZE = 32


def threads_per_block(shared_elements: int, itemsize: int, shared_limit_bytes: int,
                      preferred: int = DEFAULT_THREADS_PER_BLOCK) -> int:
    """Largest block (a multiple of the warp size where possible) whose shared memory fits.

    Shrinks the block rather than overflow the per-block shared memory
    limit; raises ``ValueError`` when not even one thread fits.
    """
    bytes_per_thread = int(shared_elements) * int(itemsize)
    if bytes_per_thread == 0:
        return preferred
    fit = shared_limit_bytes // bytes_per_thread
    if fit < 1:
        raise ValueError(
            f"one thread needs {bytes_per_thread} bytes of shared memory but a block may use "
            f"at most {shared_limit_bytes}; move some SHARED buffers to 'local'"
        )
    if fit >= WARP_SIZE:
        return min(preferred, fit - fit % WARP_SIZE)
    return fit


class CUDABackend(Backend):
    """Maps buffer locations to GPU memory and compiles with numba-cuda."""

    name = "cuda"

    @property
    def is_simulator(self) -> bool:
        """True when numba-cuda runs in its simulator."""
        from numba import config

        return bool(config.ENABLE_CUDASIM)

    def device_function(self, func, inline=True):
        """Compile ``func`` as a CUDA device function.

        ``inline=True`` inlines at numba-IR level, before typing: a CUDA
        device function may not return an array it did not receive (a slice
        or a local array), so allocators only compile once inlined.
        ``inline=False`` (large functions such as a step) leaves inlining to
        NVVM (``forceinline``), which is cheaper to compile.
        """
        if self.is_simulator:  # the simulator's jit takes no inlining options
            return cuda.jit(device=True)(func)
        if inline:
            return cuda.jit(device=True, inline="always")(func)
        return cuda.jit(device=True, forceinline=True)(func)

    def local_allocator(self, size: int, dtype):
        """Allocator declaring one thread-local array (registers when small)."""
        element = numba.from_dtype(np.dtype(dtype))

        def allocate(shared, persistent):
            return cuda.local.array(size, element)

        return self.device_function(allocate)

    def shared_limit_bytes(self) -> int:
        """Dynamic shared memory one block may use on the current device."""
        if self.is_simulator:
            return DEFAULT_SHARED_BYTES_PER_BLOCK
        device = cuda.get_current_device()
        return int(getattr(device, "MAX_SHARED_MEMORY_PER_BLOCK", DEFAULT_SHARED_BYTES_PER_BLOCK))

    def make_batch_kernel(self, body, shared_elements: int, persistent_elements: int, precision,
                          cache_key: str | None = None):
        """Compile a kernel running ``body(i, shared, persistent, args)`` on thread ``i``.

        Each thread gets ``shared_elements`` of the block's dynamic shared
        memory and a zeroed per-thread persistent array created once at
        kernel level. Returns ``launch(n, args, copy_back=None)``; numpy
        arrays in ``args`` are copied to the device, and back afterwards when
        their index is in ``copy_back`` (all of them by default). The raw
        kernel (``launch.kernel``) is kept for PTX inspection;
        ``launch.on_stream(stream, n, device_args)`` enqueues the kernel on
        ``stream`` with arguments already on the device (:meth:`run_chunks`);
        ``launch.compile(args)`` compiles (or loads) it for arguments like
        ``args`` without launching. With ``cache_key`` (the kernel factory's
        configuration hash) the compiled kernel is kept in batchode's disk
        cache (:mod:`batchode.cache`), keyed also by the device's compute
        capability.
        """
        dtype = np.dtype(precision)
        element = numba.from_dtype(dtype)
        per_thread_shared = int(shared_elements)
        persistent_size = max(int(persistent_elements), 1)

        # Two kernels rather than a run-time branch: with no shared buffers
        # no dynamic shared array is declared at all.
        if per_thread_shared > 0:

            def kernel(n, args):
                i = cuda.grid(1)
                if i >= n:
                    return
                block_shared = cuda.shared.array(0, element)
                first = cuda.threadIdx.x * per_thread_shared
                shared = block_shared[first:first + per_thread_shared]
                persistent = cuda.local.array(persistent_size, element)
                for k in range(persistent_size):
                    persistent[k] = 0
                body(i, shared, persistent, args)

        else:

            def kernel(n, args):
                i = cuda.grid(1)
                if i >= n:
                    return
                persistent = cuda.local.array(persistent_size, element)
                for k in range(persistent_size):
                    persistent[k] = 0
                body(i, persistent, persistent, args)

        compiled = cuda.jit(kernel)
        if cache_key is not None and not self.is_simulator:  # the simulator compiles nothing
            install_disk_cache(compiled, cache_key, "batch_kernel")
        backend = self

        def launch_on(stream, n, device_args):
            block = threads_per_block(per_thread_shared, dtype.itemsize, backend.shared_limit_bytes())
            grid = math.ceil(n / block)
            compiled[grid, block, stream, block * per_thread_shared * dtype.itemsize](n, device_args)

        def launch(n, args, copy_back=None):
            if n <= 0:
                return
            device_args = tuple(
                cuda.to_device(a) if isinstance(a, np.ndarray) else a for a in args
            )
            launch_on(0, n, device_args)
            wanted = range(len(args)) if copy_back is None else copy_back
            for index in wanted:
                if isinstance(args[index], np.ndarray):
                    device_args[index].copy_to_host(args[index])

        def compile_for(args):
            if not backend.is_simulator:
                compiled.compile((numba.int64, numba.typeof(tuple(args))))

        launch.on_stream = launch_on
        launch.compile = compile_for
        launch.kernel = kernel
        launch.dispatcher = compiled
        return launch

    #: Chunks in flight at once: while one computes, the next one's inputs
    #: go up and the previous one's outputs come down (and are written out).
    chunks_in_flight = 2

    def run_chunks(self, launch, jobs, outputs):
        """Run chunk jobs on ``chunks_in_flight`` CUDA streams; yield ``(tag, outputs)`` in order.

        Contract (see :meth:`Backend.run_chunks`), and on CUDA:

        1. Job ``k + 1`` is taken from ``jobs`` and enqueued (inputs copied
           to the device, kernel, outputs copied back) before job ``k``'s
           stream is waited for, so one chunk's transfers and the host's
           handling of another chunk's results overlap a third's compute.
        2. Host copies go through page-locked (pinned) buffers, the only
           memory the GPU copies asynchronously; each stream keeps its
           pinned and device arrays for the next chunk of the same shape.
        3. The yielded arrays are those pinned buffers: they are reused
           ``chunks_in_flight`` jobs later, so the caller copies them out
           before asking for the next result.
        """
        slots = [_StreamSlot() for _ in range(self.chunks_in_flight)]
        submitted = 0
        for tag, n, args in jobs:
            slot = slots[submitted % len(slots)]
            if slot.busy:
                yield slot.finish()
            slot.submit(launch.on_stream, tag, n, args, outputs)
            submitted += 1
        for k in range(submitted, submitted + len(slots)):
            slot = slots[k % len(slots)]
            if slot.busy:
                yield slot.finish()


class _StreamSlot:
    """One CUDA stream and the pinned and device arrays of the chunk it carries."""

    def __init__(self):
        self.stream = cuda.stream()
        self._pinned = {}
        self._device = {}
        self._job = None

    @property
    def busy(self) -> bool:
        return self._job is not None

    def _arrays_like(self, index, like):
        pinned = self._pinned.get(index)
        if pinned is None or pinned.shape != like.shape or pinned.dtype != like.dtype:
            # Only a chunk of another size (the last one) reallocates.
            pinned = self._pinned[index] = cuda.pinned_array(like.shape, like.dtype)
            self._device[index] = cuda.device_array(like.shape, like.dtype, stream=self.stream)
        return pinned, self._device[index]

    def submit(self, launch_on, tag, n, args, outputs):
        """Enqueue inputs up, the kernel, outputs down; return at once."""
        device_args = []
        for index, arg in enumerate(args):
            if not isinstance(arg, np.ndarray):
                device_args.append(arg)
                continue
            pinned, device = self._arrays_like(index, arg)
            if index not in outputs:  # the kernel writes every output element it returns
                pinned[...] = arg
                device.copy_to_device(pinned, stream=self.stream)
            device_args.append(device)
        if n > 0:
            launch_on(self.stream, n, tuple(device_args))
        for index in outputs:
            self._device[index].copy_to_host(self._pinned[index], stream=self.stream)
        self._job = (tag, tuple(outputs))

    def finish(self):
        """Wait for this stream; ``(tag, pinned outputs)`` of its chunk."""
        self.stream.synchronize()
        tag, outputs = self._job
        self._job = None
        return tag, tuple(self._pinned[index] for index in outputs)
