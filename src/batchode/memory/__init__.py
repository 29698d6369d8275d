"""Per-thread scratch memory: locations, buffers, registries and layouts.

Every piece of scratch memory that device code uses is a :class:`CUDABuffer`
declared in the :class:`BufferRegistry` of the factory that owns it. Parents
merge their children's registries, so the whole memory layout of a kernel is
computed in one place and allocation compiles to nothing at run time.
"""

from batchode.memory.buffer import CUDABuffer
from batchode.memory.location import BufferLocation
from batchode.memory.registry import BufferRegistry

__all__ = ["BufferLocation", "BufferRegistry", "CUDABuffer"]
