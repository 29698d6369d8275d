"""CPU backend: numba ``njit`` device functions and a ``prange`` batch kernel."""

from __future__ import annotations

import numba
import numpy as np

from batchode.backends.base import Backend
from batchode.memory.buffer import LOCAL_POOL, PERSISTENT_POOL, SHARED_POOL
from batchode.memory.location import BufferLocation

# error_model="numpy": a division by zero yields inf/nan instead of raising,
# as on the GPU; device code reports failures through status codes only.
JIT_OPTIONS = dict(error_model="numpy", fastmath=False, nogil=True)


class CPUBackend(Backend):
    """Maps buffer locations to CPU memory and compiles with numba.

    There is no shared memory and no stack array on the CPU: SHARED and LOCAL
    buffers of the working precision are slices of a scratch arena created
    once per trajectory; LOCAL buffers of another type (integer pivots, say)
    are small arrays of their own; LOCAL_PERSISTENT buffers slice a second
    per-trajectory arena.
    """

    name = "cpu"

    def device_function(self, func):
        """Compile ``func`` as a device function (numba ``njit``)."""
        return numba.njit(**JIT_OPTIONS)(func)

    def pool_of(self, location: BufferLocation, dtype, precision) -> str:
        """Pool a buffer of ``location`` and ``dtype`` takes memory from."""
        if location is BufferLocation.LOCAL_PERSISTENT:
            return PERSISTENT_POOL
        if location is BufferLocation.LOCAL and np.dtype(dtype) != np.dtype(precision):
            return LOCAL_POOL
        return SHARED_POOL

    def local_allocator(self, size: int, dtype):
        """Allocator for a LOCAL buffer whose type keeps it out of the scratch arena."""
        dtype = np.dtype(dtype)

        def allocate(shared, persistent):
            return np.empty(size, dtype)

        return self.device_function(allocate)

    def make_batch_kernel(self, body, shared_elements: int, persistent_elements: int, precision):
        """Compile a kernel running ``body(i, shared, persistent, args)`` for each trajectory.

        Returns ``launch(n, args)``; ``args`` is a tuple of numpy arrays handed
        to every call of ``body``. Each trajectory gets a scratch arena of
        ``shared_elements`` and a zeroed persistent arena of
        ``persistent_elements`` (at least one element each, so no zero-length
        array is made).
        """
        dtype = np.dtype(precision)
        scratch_size = max(int(shared_elements), 1)
        persistent_size = max(int(persistent_elements), 1)

        @numba.njit(parallel=True, **JIT_OPTIONS)
        def kernel(n, args):
            for i in numba.prange(n):
                shared = np.empty(scratch_size, dtype)
                persistent = np.zeros(persistent_size, dtype)
                body(i, shared, persistent, args)

        def launch(n, args):
            kernel(n, tuple(args))

        launch.kernel = kernel
        return launch
