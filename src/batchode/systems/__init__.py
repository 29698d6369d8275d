"""How users define ODE systems, and how a system becomes compiled device functions."""

from batchode.systems.codegen import DeviceFunctions
from batchode.systems.derivatives import DerivativeFunctions
from batchode.systems.drivers import Driver
from batchode.systems.system import ODESystem

__all__ = ["DerivativeFunctions", "DeviceFunctions", "Driver", "ODESystem"]
