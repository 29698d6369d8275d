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
)
from batchode.memory.location import BufferLocation


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
    backend : str, default "cuda"
        ``"cuda"`` or ``"cpu"``: which backend's pools layouts are made for.
    """

    def __init__(self, name: str, precision=np.float64, backend: str = "cuda"):
        if not isinstance(name, str) or not name:
            raise ValueError(f"registry name must be a non-empty string, got {name!r}")
        self.name = name
        self.precision = np.dtype(precision)
        if self.precision.kind != "f":
            raise ValueError(
                f"registry {name!r}: pool precision must be a float dtype, got {self.precision}"
            )
        from batchode.backends import get_backend

        self.backend = get_backend(backend).name
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

    def pool_elements(self, pool: str, backend: str | None = None) -> int:
        """Elements this subtree takes in ``pool`` of ``backend``'s pools.

        Pools match locations on both backends; on CUDA the local pool is
        not one array (each LOCAL buffer is its own local array), so its
        total is what the buffers declare.
        """
        if pool not in POOLS:
            raise ValueError(f"unknown pool {pool!r}; expected one of {POOLS}")
        backend = self._resolve_backend(backend)
        own = sum(
            b.elements() for b in self._buffers.values() if self._pool_of(b, backend) == pool
        )
        return own + sum(c.pool_elements(pool, backend.name) for c in self._children.values())

    # -- layouts ---------------------------------------------------------------
    def _resolve_backend(self, backend):
        from batchode.backends import get_backend

        return get_backend(self.backend if backend is None else backend)

    def _pool_of(self, buffer: CUDABuffer, backend) -> str:
        return backend.pool_of(buffer.location)

    def _check_pool_type(self, buffer: CUDABuffer, backend=None) -> None:
        backend = self._resolve_backend(backend)
        pool = self._pool_of(buffer, backend)
        if pool in ARENA_POOLS and buffer.precision != self.precision:
            kind = "integer" if buffer.is_integer else f"{buffer.precision}"
            raise ValueError(
                f"buffer {buffer.name!r} in registry {self.name!r}: an {kind} buffer "
                f"cannot live in the {self.precision} {pool} pool "
                f"(location {buffer.location.value!r}); pools are typed - make it 'local'"
            )

    def _generate(self, pool: str, backend) -> dict[str, slice]:
        layout: dict[str, slice] = {}
        offset = 0
        for buffer in self._buffers.values():
            self._check_pool_type(buffer, backend)
            in_pool = self._pool_of(buffer, backend) == pool
            size = buffer.elements() if in_pool else 0
            region = slice(offset, offset + size) if size else None
            buffer._record_slice(pool, region, backend)
            if region is not None:
                layout[buffer.name] = region
                offset += size
        for name, child in self._children.items():
            child._generate(pool, backend)
            size = child.pool_elements(pool, backend.name)
            if size:
                layout[name] = slice(offset, offset + size)
                offset += size
        return layout

    def generate_shared_layout(self) -> dict[str, slice]:
        """Lay out the shared pool: own buffers, then one block per child."""
        return self._generate(SHARED_POOL, self._resolve_backend(None))

    def generate_local_layout(self) -> dict[str, slice]:
        """Lay out the local pool (offsets are for reporting on CUDA)."""
        return self._generate(LOCAL_POOL, self._resolve_backend(None))

    def generate_persistent_layout(self) -> dict[str, slice]:
        """Lay out the persistent pool: own buffers, then one block per child."""
        return self._generate(PERSISTENT_POOL, self._resolve_backend(None))

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
        untouched (rule 6). Requires generated shared and persistent layouts.
        """
        self.child(name)
        backend = self._resolve_backend(None)
        regions = []
        for pool in ARENA_POOLS:
            layout = self._generate(pool, backend)
            regions.append(layout.get(name))
        return backend.child_view(*regions)

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
        pools = ", ".join(f"{pool} {self.pool_elements(pool, backend.name)}" for pool in POOLS)
        lines = [
            f"{indent}{self.name} [{self.precision}, {backend.name}]: "
            f"by location: shared {self.shared_memory_elements}, local {self.local_memory_elements}, "
            f"persistent {self.persistent_local_elements}; by {backend.name} pool: {pools}"
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
        return "\n".join(self._lines("", self._resolve_backend(None)))

    def __repr__(self) -> str:
        return (
            f"BufferRegistry({self.name!r}, buffers={list(self._buffers)}, "
            f"children={list(self._children)})"
        )
