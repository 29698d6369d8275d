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

    def make_batch_kernel(self, body, shared_elements: int, persistent_elements: int, precision):
        """Compile a kernel running ``body(i, shared, persistent, args)`` on thread ``i``.

        Each thread gets ``shared_elements`` of the block's dynamic shared
        memory and a zeroed per-thread persistent array created once at
        kernel level. Returns ``launch(n, args, copy_back=None)``; numpy
        arrays in ``args`` are copied to the device, and back afterwards when
        their index is in ``copy_back`` (all of them by default). The raw
        kernel (``launch.kernel``) is kept for PTX inspection.
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
        backend = self

        def launch(n, args, copy_back=None):
            if n <= 0:
                return
            block = threads_per_block(per_thread_shared, dtype.itemsize, backend.shared_limit_bytes())
            grid = math.ceil(n / block)
            shared_bytes = block * per_thread_shared * dtype.itemsize
            device_args = tuple(
                cuda.to_device(a) if isinstance(a, np.ndarray) else a for a in args
            )
            compiled[grid, block, 0, shared_bytes](n, device_args)
            wanted = range(len(args)) if copy_back is None else copy_back
            for index in wanted:
                if isinstance(args[index], np.ndarray):
                    device_args[index].copy_to_host(args[index])

        launch.kernel = kernel
        launch.dispatcher = compiled
        return launch
