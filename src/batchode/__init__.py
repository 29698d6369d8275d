"""batchode: huge batches of independent ODE systems on GPUs and CPU cores."""

from batchode.factory import CUDAFactory
from batchode.memory import BufferLocation, BufferRegistry, CUDABuffer

__all__ = ["BufferLocation", "BufferRegistry", "CUDABuffer", "CUDAFactory"]
__version__ = "0.1.0"
