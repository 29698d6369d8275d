"""batchode: huge batches of independent ODE systems on GPUs and CPU cores."""

from batchode.algorithms import available_methods
from batchode.api import Solver, solve_ivp
from batchode.batch.results import SolveInterrupted, SolveResult
from batchode.batch.store import open_result
from batchode.events import Event
from batchode.factory import CUDAFactory
from batchode.memory import BufferLocation, BufferRegistry, CUDABuffer
from batchode.status import Status
from batchode.systems import Driver, ODESystem
from batchode.version import __version__

__all__ = [
    "BufferLocation", "BufferRegistry", "CUDABuffer", "CUDAFactory", "Driver", "Event", "ODESystem",
    "SolveInterrupted", "SolveResult", "Solver", "Status", "available_methods", "open_result", "solve_ivp",
]
