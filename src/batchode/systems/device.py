"""``SystemFactory``: an :class:`ODESystem` as a factory of device functions."""

from __future__ import annotations

import attrs

from batchode.factory import CUDAFactory
from batchode.systems.system import ODESystem


@attrs.frozen
class SystemSettings:
    """The system whose right-hand side and observables are compiled."""

    system: ODESystem = attrs.field(validator=attrs.validators.instance_of(ODESystem))


class SystemFactory(CUDAFactory):
    """Compiles ``dxdt(t, y, p, dydt)`` and ``observables(t, y, p, out)``.

    The system's ``cache_key`` (generated source, or the Python function's
    identity and source) is part of the factory's hash, so two systems that
    compile to different code never share a build.
    """

    Settings = SystemSettings

    def __init__(self, system: ODESystem, **kwargs):
        super().__init__(SystemSettings(system), **kwargs)

    @property
    def system(self) -> ODESystem:
        return self.settings.system

    @property
    def n_states(self) -> int:
        return self.system.n_states

    def hash_extras(self) -> tuple:
        return (self.system.cache_key,)

    def build(self):
        functions = self.system.make_device_functions(self.backend.device_function, self.precision.type)
        return functions

    @property
    def device_function(self):
        """``dxdt(t, y, p, dydt)``."""
        return self.built.dxdt

    @property
    def observables_function(self):
        """``observables(t, y, p, out)`` (a no-op when the system has none)."""
        return self.built.observables
