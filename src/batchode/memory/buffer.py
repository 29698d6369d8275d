"""One per-thread scratch buffer and its allocator."""

from __future__ import annotations

from typing import Callable

import attrs
import numpy as np

from batchode.memory.location import BufferLocation

#: Pool names; a layout is generated per pool.
SHARED_POOL = "shared"
LOCAL_POOL = "local"
PERSISTENT_POOL = "persistent"
POOLS = (SHARED_POOL, LOCAL_POOL, PERSISTENT_POOL)

#: Pools that are slices of one typed parent array (rule 7: typed pools).
ARENA_POOLS = (SHARED_POOL, PERSISTENT_POOL)

_POOL_OF_LOCATION = {
    BufferLocation.SHARED: SHARED_POOL,
    BufferLocation.LOCAL: LOCAL_POOL,
    BufferLocation.LOCAL_PERSISTENT: PERSISTENT_POOL,
}


def pool_of(location: BufferLocation) -> str:
    """The pool a buffer of ``location`` takes memory from.

    Every backend gives each location its own pool: SHARED slices the
    shared arena (dynamic shared memory on CUDA, a per-worker scratch array
    on the CPU), LOCAL is a per-function array (``local.array`` / a stack
    array), LOCAL_PERSISTENT slices the persistent arena. Backends differ in
    what those pools are, never in which buffer goes where, so layouts need
    no backend.
    """
    return _POOL_OF_LOCATION[location]


def _check_name(instance, attribute, value):
    if not isinstance(value, str) or not value.isidentifier():
        raise ValueError(
            f"buffer name must be a Python identifier, got {value!r}"
        )


def is_integer_dtype(dtype: np.dtype) -> bool:
    """Return True for integer and boolean dtypes (not allowed in float pools)."""
    return np.dtype(dtype).kind in "iub"


@attrs.define(eq=False)
class CUDABuffer:
    """A named piece of per-thread scratch memory.

    Parameters
    ----------
    name : str
        Identifier, unique within its registry.
    location : BufferLocation or str
        Where the buffer lives (``"shared"``, ``"local"``,
        ``"local_persistent"``, any case).
    size : int or callable
        Number of elements, or a zero-argument callable returning it. A
        callable is evaluated each time a layout is generated, so a size that
        depends on settings is never stale.
    precision : numpy dtype, default float64
        Element type.
    enabled : bool or callable, default True
        A disabled buffer (or one whose ``enabled()`` returns False) takes no
        memory and gets no real allocation.
    keeps_contents : bool, default False
        The owner reads what it wrote in an earlier call (factors from
        ``prepare`` to ``solve``, history from step to step). Such a buffer
        may not be LOCAL, which lives only inside the function that
        allocates it (on CUDA); moving it there is a ``ValueError``.

    Notes
    -----
    After a layout is generated (``BufferRegistry.generate_*_layout``), the
    ``*_slice`` properties give the buffer's offsets inside its registry's
    region of each pool, and :meth:`allocate` returns its allocator.
    """

    name: str = attrs.field(validator=_check_name)
    location: BufferLocation = attrs.field(
        converter=BufferLocation.coerce,
        on_setattr=attrs.setters.pipe(attrs.setters.convert, attrs.setters.validate),
    )
    size: int | Callable[[], int] = attrs.field()
    precision: np.dtype = attrs.field(default=np.float64, converter=np.dtype)
    enabled: bool | Callable[[], bool] = attrs.field(default=True)
    keeps_contents: bool = attrs.field(default=False, kw_only=True)
    _slices: dict = attrs.field(factory=dict, init=False, repr=False)
    _backend: object = attrs.field(default=None, init=False, repr=False)

    @location.validator
    def _validate_location(self, attribute, value):
        if self.keeps_contents and value is BufferLocation.LOCAL:
            raise ValueError(
                f"buffer {self.name!r} keeps its contents between calls, but LOCAL memory lives only "
                "inside the function that allocates it; use 'shared' or 'local_persistent'"
            )

    @size.validator
    def _validate_size(self, attribute, value):
        if not callable(value):
            self._checked_size(value)

    def _checked_size(self, value) -> int:
        if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, np.integer)
        ):
            raise ValueError(
                f"buffer {self.name!r}: size must be a non-negative integer, "
                f"got {value!r} ({type(value).__name__})"
            )
        if value < 0:
            raise ValueError(
                f"buffer {self.name!r}: size must be a non-negative integer, "
                f"got {value}"
            )
        return int(value)

    # -- resolved at layout time -------------------------------------------
    def resolved_size(self) -> int:
        """The size now, evaluating a size callable and checking its result."""
        value = self.size() if callable(self.size) else self.size
        return self._checked_size(value)

    def is_enabled(self) -> bool:
        """Whether the buffer is enabled now (evaluating a callable flag)."""
        return bool(self.enabled() if callable(self.enabled) else self.enabled)

    def elements(self) -> int:
        """Elements this buffer occupies: 0 when disabled or zero-size."""
        return self.resolved_size() if self.is_enabled() else 0

    @property
    def is_integer(self) -> bool:
        """True for integer (and boolean) buffers."""
        return is_integer_dtype(self.precision)

    def _record_slice(self, pool: str, region: slice | None, backend) -> None:
        self._slices[pool] = region
        self._backend = backend

    # -- after layout ------------------------------------------------------
    def _slice(self, pool: str) -> slice | None:
        if pool not in self._slices:
            raise RuntimeError(
                f"buffer {self.name!r}: no {pool} layout generated yet; call "
                f"generate_{pool}_layout() on its registry (or build its factory)"
            )
        return self._slices[pool]

    @property
    def shared_slice(self) -> slice | None:
        """Slice into the shared pool, or None."""
        return self._slice(SHARED_POOL)

    @property
    def local_slice(self) -> slice | None:
        """Offsets in the (virtual) local pool, or None."""
        return self._slice(LOCAL_POOL)

    @property
    def persistent_slice(self) -> slice | None:
        """Slice into the persistent pool, or None."""
        return self._slice(PERSISTENT_POOL)

    @staticmethod
    def _length(region: slice | None) -> int:
        return 0 if region is None else region.stop - region.start

    @property
    def shared_size(self) -> int:
        """Elements this buffer takes in the shared pool."""
        return self._length(self.shared_slice)

    @property
    def local_size(self) -> int:
        """Elements this buffer takes in the local pool."""
        return self._length(self.local_slice)

    @property
    def persistent_size(self) -> int:
        """Elements this buffer takes in the persistent pool."""
        return self._length(self.persistent_slice)

    def allocate(self):
        """Return the allocator device function ``allocate(shared, persistent)``.

        The allocator is built with the backend of the registry that
        generated the last layout.
        Every branch is decided here, in Python, so the compiled allocator is
        a single slice or a single local-array declaration (rule 5); a
        disabled or zero-size buffer gets an allocator that returns the shared
        parent untouched (rule 6: no zero-length arrays).
        """
        if not self._slices:
            raise RuntimeError(
                f"buffer {self.name!r}: generate a layout before allocate()"
            )
        if self._backend is None:
            raise RuntimeError(
                f"buffer {self.name!r}: its registry has no backend to build the allocator with; create it "
                "with BufferRegistry(..., backend=batchode.backends.get_backend('cpu'))"
            )
        backend = self._backend
        for pool in ARENA_POOLS:
            region = self._slices.get(pool)
            if region is not None:
                return backend.slice_allocator(pool, region.start, region.stop)
        if self._slices.get(LOCAL_POOL) is not None:
            return backend.local_allocator(self.resolved_size(), self.precision)
        return backend.passthrough_allocator()
