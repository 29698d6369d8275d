"""``SystemFactory``: an :class:`ODESystem` as a factory of device functions."""

from __future__ import annotations

import functools
from collections.abc import Callable

import attrs
import numpy as np

from batchode.factory import CUDAFactory
from batchode.systems.codegen import DeviceFunctions
from batchode.systems.derivatives import DerivativeFunctions
from batchode.systems.system import ODESystem


@attrs.frozen
class SystemSettings:
    """The system whose right-hand side and observables are compiled."""

    system: ODESystem = attrs.field(validator=attrs.validators.instance_of(ODESystem))


@attrs.frozen
class SystemFunctions:
    """What :class:`SystemFactory` builds: dxdt and observables, derivatives on first use.

    Generating derivatives can take SymPy a while, and solvers that never
    ask for them should not pay for it.
    """

    system: ODESystem
    decorator: Callable
    precision: type[np.floating]
    functions: DeviceFunctions

    @functools.cached_property
    def derivatives(self) -> DerivativeFunctions:
        return self.system.make_derivative_functions(
            self.decorator, self.precision, dxdt=self.functions.dxdt
        )


#: Source lines above which a system's function is called, never inlined
#: (:meth:`batchode.backends.base.Backend.called_function`). Measured on the
#: CPU (rtol 1e-6, 2 cores, per run), out of line against inlined at every
#: call, lines of dxdt in brackets. Below: Lorenz (10) tsit5 14.2 -> 18.4
#: us, rodas5p 52.0 -> 55.7; a 20-state Brusselator (56) rodas5p 57.9 ->
#: 63.0; Kuramoto n = 10 (55) 12.2 -> 12.4. Above: Kuramoto n = 20 (105)
#: 27.7 -> 20.1 us; the 40-state Brusselator (106) rodas5p 119 -> 117,
#: radau-iia-5 194 -> 190; Pleiades (191) dop853 105 -> 90, built in 3.2 s
#: instead of 4.4; the 100-state Brusselator (256) rodas5p 313 -> 297, built
#: in 7.4 s instead of 8.6; Kuramoto n = 100 (505) the same speed, built in
#: 3.9 s instead of 5.9. Results are bit for bit the same.
OUT_OF_LINE_LINES = 100


def _source_lines(function) -> int:
    """Distinct source lines of ``function``'s code (its own, not of what it calls)."""
    return len({line for *_, line in function.__code__.co_lines() if line is not None})


class SystemFactory(CUDAFactory):
    """Compiles ``dxdt(t, y, p, dydt)``, ``observables(t, y, p, out)`` and derivatives.

    The system's ``cache_key`` (generated source and symbolic derivatives,
    or the Python functions' identities and sources) is part of the
    factory's hash, so two systems that compile to different code never
    share a build.
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

    def build(self) -> SystemFunctions:
        # Compiled once and called, not inlined at numba-IR level: IR inlining
        # deep-copies and retypes the callee at every call site (a step
        # evaluates f at each stage), so the system's code was typed 7-10
        # times per kernel. Measured, mean-field Kuramoto, tsit5, 2 cores:
        # n = 30 built in 24.6 s inlined, 9.2 s called (n = 3: 9.4 / 8.4 s);
        # run time unchanged (Lorenz 0.207 s both, Kuramoto n = 30 within
        # 4%), since LLVM (CPU) and NVVM (CUDA, forceinline) inline it later.
        # Functions longer than OUT_OF_LINE_LINES are not inlined at all
        # (Backend.called_function).
        backend = self.backend

        def decorator(function):
            if _source_lines(function) > OUT_OF_LINE_LINES:
                return backend.called_function(function)
            return backend.device_function(function, inline=False)

        precision = self.precision.type
        functions = self.system.make_device_functions(decorator, precision)
        return SystemFunctions(self.system, decorator, precision, functions)

    @property
    def device_function(self):
        """``dxdt(t, y, p, dydt)``."""
        return self.built.functions.dxdt

    @property
    def observables_function(self):
        """``observables(t, y, p, out)`` (a no-op when the system has none)."""
        return self.built.functions.observables

    @property
    def jvp_function(self):
        """``jvp(t, y, p, v, out, work)``: ``out = (df/dy) v``; ``work`` has ``2 n`` entries."""
        return self.built.derivatives.jvp

    @property
    def jacobian_function(self):
        """``jacobian(t, y, p, out, work)``: ``out[i*n + j] = df_i/dy_j``."""
        return self.built.derivatives.jacobian

    @property
    def jacobian_diagonal_function(self):
        """``jacobian_diagonal(t, y, p, out, work)``: ``out[i] = df_i/dy_i``; None for a Python-function system."""
        return self.built.derivatives.jacobian_diagonal

    @property
    def jacobian_values_function(self):
        """``jacobian_values(t, y, p, out)``: ``out[k] = df_i/dy_j`` for the ``k``-th ``(i, j)`` of
        ``system.jacobian_sparsity``; None for a Python-function system."""
        return self.built.derivatives.jacobian_values

    @property
    def time_derivative_function(self):
        """``time_derivative(t, y, p, out, work)``: ``out = df/dt`` (partial)."""
        return self.built.derivatives.time_derivative
