"""The buffer registry: one factory's buffers plus its children's registries."""

from __future__ import annotations

from types import MappingProxyType
from typing import Iterator, Mapping

import numpy as np

from batchode.memory.buffer import (
    ARENA_POOLS,
    LOCAL_POOL,
    PERSISTENT_POOL,
    POOLS,
    SHARED_POOL,
    CUDABuffer,
    pool_of,
)
from batchode.memory.location import BufferLocation

#: What a registry asks of its backend: the device functions of allocators and child views.
BACKEND_METHODS = ("slice_allocator", "local_allocator", "passthrough_allocator", "child_view")


class BufferRegistry:
    """Buffers of one factory, and the registries of its children by name.

    Totals and layouts are computed when asked for, recursing into the
    children at that moment (ARCHITECTURE rule 2), so a child reconfigured
    after it was merged is never seen with a stale size. Each registry lays
    its own buffers out from offset 0 of its region and reserves one
    contiguous block per child (rule 3).

    Parameters
    ----------
    name : str
        The registry's name; a parent addresses it as a child by this name.
    precision : numpy dtype, default float64
        Element type of the shared and persistent pools.
    backend : Backend, optional
        The backend object (``batchode.backends.get_backend("cpu")``) whose
        device functions the allocators and child views are built with; a
        factory passes its own. Layouts and totals do not need one (pools
        follow locations on every backend). The caller passes it so that
        the memory layer imports nothing above it.

    Raises
    ------
    ValueError
        For an empty name or a pool precision that is not a float dtype.
    TypeError
        For a ``backend`` that is not a backend object (a name such as
        ``"cpu"`` included).
    """

    def __init__(self, name: str, precision=np.float64, backend=None):
        if not isinstance(name, str) or not name:
            raise ValueError(f"registry name must be a non-empty string, got {name!r}")
        self.name = name
        self.precision = np.dtype(precision)
        if self.precision.kind != "f":
            raise ValueError(
                f"registry {name!r}: pool precision must be a float dtype, got {self.precision}"
            )
        if backend is not None:
            missing = [method for method in BACKEND_METHODS if not hasattr(backend, method)]
            if missing:
                raise TypeError(f"registry {name!r}: backend must be a backend object such as "
                                f"batchode.backends.get_backend('cpu'), or None; got {backend!r}, which lacks "
                                f"{', '.join(missing)}")
        self.backend = backend
        self._buffers: dict[str, CUDABuffer] = {}
        self._children: dict[str, BufferRegistry] = {}

    # -- building the tree -------------------------------------------------
    def register(self, buffer: CUDABuffer) -> CUDABuffer:
        """Add one of this registry's own buffers and return it."""
        if not isinstance(buffer, CUDABuffer):
            raise TypeError(f"registry {self.name!r}: expected a CUDABuffer, got {buffer!r}")
        if buffer.name in self._buffers or buffer.name in self._children:
            raise ValueError(
                f"registry {self.name!r}: a buffer or child named {buffer.name!r} "
                "is already registered"
            )
        self._check_pool_type(buffer)
        self._buffers[buffer.name] = buffer
        return buffer

    def merge(self, child: "BufferRegistry") -> "BufferRegistry":
        """Adopt ``child`` (addressed by ``child.name``) and return it."""
        if not isinstance(child, BufferRegistry):
            raise TypeError(f"registry {self.name!r}: can only merge a BufferRegistry, got {child!r}")
        if child is self or any(r is self for r in child.iter_registries()):
            raise ValueError(
                f"cannot merge registry {child.name!r} into {self.name!r}: "
                "it is the same registry or one of its ancestors (the tree would loop)"
            )
        if child.name in self._children or child.name in self._buffers:
            raise ValueError(
                f"registry {self.name!r}: a child or buffer named {child.name!r} already exists"
            )
        if child.precision != self.precision:
            raise ValueError(
                f"registry {self.name!r} ({self.precision}) cannot merge child "
                f"{child.name!r} of precision {child.precision}: pools are typed"
            )
        self._children[child.name] = child
        return child

    def relocate(self, name: str, location) -> bool:
        """Move own buffer ``name`` to ``location``; return True if it changed."""
        buffer = self._buffers.get(name)
        if buffer is None:
            raise KeyError(f"registry {self.name!r} has no buffer {name!r}; buffers: {sorted(self._buffers)}")
        location = BufferLocation.coerce(location)
        if buffer.location is location:
            return False
        old = buffer.location
        buffer.location = location
        try:
            self._check_pool_type(buffer)
        except ValueError:
            buffer.location = old
            raise
        return True

    # -- read-only views -----------------------------------------------------
    @property
    def buffers(self) -> Mapping[str, CUDABuffer]:
        """This registry's own buffers, by name (read-only)."""
        return MappingProxyType(self._buffers)

    @property
    def children(self) -> Mapping[str, "BufferRegistry"]:
        """Merged child registries, by name (read-only)."""
        return MappingProxyType(self._children)

    def child(self, name: str) -> "BufferRegistry":
        """The merged child ``name``; asking for one never merged raises."""
        try:
            return self._children[name]
        except KeyError:
            raise KeyError(
                f"registry {self.name!r} has no child {name!r} (merged: {sorted(self._children)})"
            ) from None

    def iter_registries(self) -> Iterator["BufferRegistry"]:
        """This registry and every descendant, depth first."""
        yield self
        for child in self._children.values():
            yield from child.iter_registries()

    # -- totals (recursive, computed now) ------------------------------------
    def _location_elements(self, location: BufferLocation) -> int:
        own = sum(b.elements() for b in self._buffers.values() if b.location is location)
        return own + sum(c._location_elements(location) for c in self._children.values())

    @property
    def shared_memory_elements(self) -> int:
        """Elements of enabled SHARED buffers in this subtree."""
        return self._location_elements(BufferLocation.SHARED)

    @property
    def local_memory_elements(self) -> int:
        """Elements of enabled LOCAL buffers in this subtree."""
        return self._location_elements(BufferLocation.LOCAL)

    @property
    def persistent_local_elements(self) -> int:
        """Elements of enabled LOCAL_PERSISTENT buffers in this subtree."""
        return self._location_elements(BufferLocation.LOCAL_PERSISTENT)

    def pool_elements(self, pool: str) -> int:
        """Elements this subtree takes in ``pool``.

        Pools follow locations on both backends; on CUDA the local pool is
        not one array (each LOCAL buffer is its own local array), so its
        total is what the buffers declare.
        """
        if pool not in POOLS:
            raise ValueError(f"unknown pool {pool!r}; expected one of {POOLS}")
        own = sum(b.elements() for b in self._buffers.values() if pool_of(b.location) == pool)
        return own + sum(c.pool_elements(pool) for c in self._children.values())

    # -- layouts ---------------------------------------------------------------
    def _check_pool_type(self, buffer: CUDABuffer) -> None:
        pool = pool_of(buffer.location)
        if pool in ARENA_POOLS and buffer.precision != self.precision:
            kind = "integer" if buffer.is_integer else f"{buffer.precision}"
            raise ValueError(
                f"buffer {buffer.name!r} in registry {self.name!r}: an {kind} buffer "
                f"cannot live in the {self.precision} {pool} pool "
                f"(location {buffer.location.value!r}); pools are typed - make it 'local'"
            )

    def _generate(self, pool: str, backend) -> dict[str, slice]:
        """Lay out ``pool``; every buffer of the subtree records its slice and ``backend`` (this root's)."""
        layout: dict[str, slice] = {}
        offset = 0
        for buffer in self._buffers.values():
            self._check_pool_type(buffer)
            in_pool = pool_of(buffer.location) == pool
            size = buffer.elements() if in_pool else 0
            region = slice(offset, offset + size) if size else None
            buffer._record_slice(pool, region, backend)
            if region is not None:
                layout[buffer.name] = region
                offset += size
        for name, child in self._children.items():
            child._generate(pool, backend)
            size = child.pool_elements(pool)
            if size:
                layout[name] = slice(offset, offset + size)
                offset += size
        return layout

    def generate_shared_layout(self) -> dict[str, slice]:
        """Lay out the shared pool: own buffers, then one block per child."""
        return self._generate(SHARED_POOL, self.backend)

    def generate_local_layout(self) -> dict[str, slice]:
        """Lay out the local pool (offsets are for reporting on CUDA)."""
        return self._generate(LOCAL_POOL, self.backend)

    def generate_persistent_layout(self) -> dict[str, slice]:
        """Lay out the persistent pool: own buffers, then one block per child."""
        return self._generate(PERSISTENT_POOL, self.backend)

    def generate_layouts(self) -> dict[str, dict[str, slice]]:
        """Generate all three layouts; return them by pool name."""
        return {
            SHARED_POOL: self.generate_shared_layout(),
            LOCAL_POOL: self.generate_local_layout(),
            PERSISTENT_POOL: self.generate_persistent_layout(),
        }

    def child_view(self, name: str):
        """Device function ``(shared, persistent) -> (child_shared, child_persistent)``.

        Gives the child ``name`` its own region of each arena pool. A region
        of zero size is never sliced: the parent array is passed through
        untouched (rule 6).

        Raises
        ------
        KeyError
            For a child never merged.
        RuntimeError
            When the registry has no backend to build the view with.
        """
        self.child(name)
        if self.backend is None:
            raise RuntimeError(f"registry {self.name!r} has no backend to build child {name!r}'s view with; "
                               "create it with BufferRegistry(..., backend=batchode.backends.get_backend('cpu'))")
        regions = [self._generate(pool, self.backend).get(name) for pool in ARENA_POOLS]
        return self.backend.child_view(*regions)

    # -- description -------------------------------------------------------------
    def signature(self) -> tuple:
        """A hashable description of the whole tree (names, locations, sizes)."""
        own = tuple(
            (b.name, b.location.value, b.elements(), b.precision.str)
            for b in self._buffers.values()
        )
        kids = tuple((n, c.signature()) for n, c in self._children.items())
        return (self.name, self.precision.str, own, kids)

    def _lines(self, indent: str, backend) -> list[str]:
        pools = ", ".join(f"{pool} {self.pool_elements(pool)}" for pool in POOLS)
        target = "" if backend is None else f", {backend.name}"
        lines = [
            f"{indent}{self.name} [{self.precision}{target}]: "
            f"by location: shared {self.shared_memory_elements}, local {self.local_memory_elements}, "
            f"persistent {self.persistent_local_elements}; by pool: {pools}"
        ]
        layouts = {pool: self._generate(pool, backend) for pool in POOLS}
        for buffer in self._buffers.values():
            places = [
                f"{pool}[{layouts[pool][buffer.name].start}:{layouts[pool][buffer.name].stop}]"
                for pool in POOLS
                if buffer.name in layouts[pool]
            ]
            state = ", ".join(places) if places else "no memory (disabled or empty)"
            lines.append(
                f"{indent}  - {buffer.name:<20} {buffer.location.value:<16} "
                f"{buffer.elements():>5}  {buffer.precision.name:<8} {state}"
            )
        for name, child in self._children.items():
            blocks = [
                f"{pool}[{layouts[pool][name].start}:{layouts[pool][name].stop}]"
                for pool in POOLS
                if name in layouts[pool]
            ]
            lines.append(f"{indent}  + child {name}" + (f" at {', '.join(blocks)}" if blocks else ""))
            lines.extend(child._lines(indent + "    ", backend))
        return lines

    def __str__(self) -> str:
        return "\n".join(self._lines("", self.backend))

    def __repr__(self) -> str:
        return (
            f"BufferRegistry({self.name!r}, buffers={list(self._buffers)}, "
            f"children={list(self._children)})"
        )
