"""batchode: huge batches of independent ODE systems on GPUs and CPU cores."""

from batchode.api import Solver, open_result, solve_ivp
from batchode.factory import CUDAFactory
from batchode.memory import BufferLocation, BufferRegistry, CUDABuffer
from batchode.status import Status
from batchode.systems import ODESystem

__all__ = [
    "BufferLocation", "BufferRegistry", "CUDABuffer", "CUDAFactory", "ODESystem",
    "Solver", "Status", "open_result", "solve_ivp",
]
__version__ = "0.1.0"
