"""Interpolants that fill saves between steps: their contract, and the cubic Hermite one.

Interpolant contract (what the loop calls to save between steps)::

    prepare(t, dt, y, y_new, p, end_known, shared, persistent)
    evaluate(theta, dt, y, y_new, out, shared, persistent)

1. ``prepare`` is called once after an accepted step from ``(t, y)`` to
   ``(t + dt, y_new)`` that has a save time strictly inside it, before
   any ``evaluate`` of that step. ``end_known`` says the previous call of
   ``prepare`` was for the step that ended at ``(t, y)``, so what that
   call learnt about its end point (here ``f(t, y)``) still holds.
2. ``evaluate`` writes the interpolated state at ``t + theta * dt``
   (``0 <= theta <= 1``, float64) into ``out``; ``y`` and ``y_new`` are
   read only and unchanged since ``prepare``.
3. ``dt`` is signed (negative when integrating backwards) and rounded to
   the working precision, as the step saw it.
4. The interpolant never changes the step: steps taken, and so every
   accepted state, are the same whether or not anything is saved.

A step whose tableau carries its own continuous extension serves as the
loop's interpolant itself (its build is an :class:`InterpolatingStep`;
its ``prepare`` evaluates the extra stages such an interpolant may need);
every other method uses :class:`HermiteInterpolant`, the cubic through ``y`` and
``y_new`` with derivatives ``f(t, y)`` and ``f(t + dt, y_new)`` (Hairer,
Norsett & Wanner, Solving ODEs I, section II.6). It is third-order
accurate, so between the steps of a higher-order method its error can
exceed the step's own; a method with its own continuous extension
provides that instead. It costs one evaluation of ``f`` per step with a
save inside (two for the first such step after one without).
"""

from __future__ import annotations

import attrs

from batchode.factory import CUDAFactory


def hermite_weights(s):
    """Weights of the cubic Hermite interpolant over a step, at the fraction ``s`` of it.

    With ``jump = y_new - y`` and the derivatives ``f_old = f(t, y)``,
    ``f_new = f(t + dt, y_new)``, the interpolant is
    ``u(s) = y + v jump + dt (w_old f_old + w_new f_new)`` and its derivative
    with respect to ``s`` is ``u'(s) = v' jump + dt (w_old' f_old + w_new' f_new)``.
    Plain arithmetic, so it serves both the host (constants of a residual
    estimate) and device code (a save time's fraction of a step).

    Returns
    -------
    value, slope : tuple of float
        ``(v, w_old, w_new)`` and ``(v', w_old', w_new')`` at ``s``.
    """
    value = (s * s * (3.0 - 2.0 * s), s * (1.0 - s) ** 2, -s * s * (1.0 - s))
    slope = (6.0 * s * (1.0 - s), (1.0 - s) * (1.0 - 3.0 * s), s * (3.0 * s - 2.0))
    return value, slope


def nothing_to_prepare(t, dt, y, y_new, p, end_known, shared, persistent):
    """``prepare`` of an interpolant that reads only what the step itself kept."""


@attrs.frozen
class InterpolantBuild:
    """A compiled interpolant: ``prepare`` and ``evaluate`` (see the module's contract)."""

    prepare: object
    evaluate: object


@attrs.frozen
class InterpolatingStep:
    """A compiled step that is also the loop's interpolant, reading the stages it kept."""

    device_function: object
    interpolant: InterpolantBuild


@attrs.frozen
class HermiteSettings:
    """Settings of the Hermite interpolant: none beyond precision and backend."""


class HermiteInterpolant(CUDAFactory):
    """Factory of the cubic Hermite interpolant for the system child ``system``.

    Buffers: ``start_derivative`` and ``end_derivative`` (LOCAL_PERSISTENT,
    n each): ``f`` at the two ends of the last prepared step, kept from
    ``prepare`` to the ``evaluate`` calls and, when the next prepared step
    starts where this one ended, reused as its start derivative.
    """

    Settings = HermiteSettings

    def __init__(self, system_factory, **kwargs):
        super().__init__(precision=system_factory.precision, backend=system_factory.backend.name, **kwargs)
        self.add_child("system", system_factory)
        n = system_factory.n_states
        self.register_buffer("start_derivative", "local_persistent", n)
        self.register_buffer("end_derivative", "local_persistent", n)

    def build(self) -> InterpolantBuild:
        n = self.child("system").n_states
        dtype = self.precision.type
        dxdt = self.child("system").device_function
        buffers = self.buffer_registry.buffers
        alloc_start = buffers["start_derivative"].allocate()
        alloc_end = buffers["end_derivative"].allocate()
        weights = self.backend.device_function(hermite_weights)

        def prepare(t, dt, y, y_new, p, end_known, shared, persistent):
            start = alloc_start(shared, persistent)
            end = alloc_end(shared, persistent)
            if end_known:
                for j in range(n):
                    start[j] = end[j]
            else:
                dxdt(t, y, p, start)
            dxdt(t + dt, y_new, p, end)

        def evaluate(theta, dt, y, y_new, out, shared, persistent):
            start = alloc_start(shared, persistent)
            end = alloc_end(shared, persistent)
            (v, w_old, w_new), _ = weights(theta)
            v, w_old, w_new = dtype(v), dtype(w_old) * dt, dtype(w_new) * dt
            for j in range(n):
                out[j] = y[j] + v * (y_new[j] - y[j]) + w_old * start[j] + w_new * end[j]

        return InterpolantBuild(self.backend.device_function(prepare), self.backend.device_function(evaluate))
