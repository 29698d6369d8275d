"""Where a per-thread buffer lives."""

from __future__ import annotations

import enum


class BufferLocation(enum.Enum):
    """The memory a buffer is carved from.

    ``SHARED``
        A per-thread slice of the block's dynamic shared memory (CUDA); on
        the CPU a slice of a per-worker scratch arena.
    ``LOCAL``
        A thread-private array that lives only inside the device function
        that allocates it (CUDA ``local.array``; on the CPU a stack array),
        which the compiler may keep in registers.
    ``LOCAL_PERSISTENT``
        A thread-private slice that keeps its contents between steps (FSAL
        derivatives, controller history), carved from one per-thread array
        created at kernel level.
    """

    SHARED = "shared"
    LOCAL = "local"
    LOCAL_PERSISTENT = "local_persistent"

    @classmethod
    def coerce(cls, value: "BufferLocation | str") -> "BufferLocation":
        """Convert a location or its name (any case) to a ``BufferLocation``.

        Raises
        ------
        ValueError
            If ``value`` names no location; the message lists the valid names.
        """
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            try:
                return cls(value.strip().lower())
            except ValueError:
                pass
        valid = ", ".join(repr(member.value) for member in cls)
        raise ValueError(
            f"unknown buffer location {value!r}; expected one of {valid}"
        )
