"""What every step controller shares: settings, the error norm, the device contract.

Controller contract (built as :class:`ControllerBuild`)::

    initialise(settings, shared, persistent)             # reset history at t0
    size = norm(error, y_old, y_new, settings)           # weighted RMS of the error
    accept, dt_next = control(dt, size, iterations, max_iterations, settings, shared, persistent)

``settings`` is the controller's block of the run-time values
(:meth:`StepController.runtime_values`): the tolerances and every constant
of the control law, so that changing them never recompiles.

1. ``norm`` is the RMS over states of ``error_j / (atol_j + max(|y_old_j|,
   |y_new_j|) * rtol_j)``, as in DifferentialEquations.jl and Hairer's codes;
   a step is acceptable when it is at most 1.
2. ``control`` gets the step just tried and its error size, updates the
   controller's history (kept in its own LOCAL_PERSISTENT buffer), and
   returns whether to accept and the next step to try. It never clamps to
   ``dt_min``/``dt_max``: the loop owns those limits.
3. ``iterations`` is the number of Newton iterations the step took (the
   step's own addition to ``Counter.NEWTON_ITERATIONS``) and
   ``max_iterations`` the step's cap on them (its ``newton_max_iterations``,
   read from the step's run-time block by the loop); both are 0 for a step
   without a capped Newton iteration of its own (explicit and Rosenbrock
   steps, and DIRK, whose count sums several Newton solves that the cap
   bounds one by one). A controller may let them temper its proposal
   (:func:`batchode.control.gustafsson.newton_safety`) or ignore them.
4. ``control`` reads each run-time value where it uses it, not all of them
   up front: read together, the compiler loads them early and keeps them
   in registers across the rest of the law (``pow`` included), and with
   the loop's own limits read the same way the Lorenz tsit5 kernel on CUDA
   (float32, sm_90) takes 56 registers rather than 64, one more than with
   every value compiled in.
"""

from __future__ import annotations

import math

import attrs
import numpy as np

from batchode.factory import CUDAFactory, runtime_setting


def tolerance_tuple(value, name: str = "tolerances") -> tuple[float, ...]:
    """``value`` (a number, or one per state) as a tuple of floats, or an error naming ``name``."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a non-negative number or one per state, got {value!r} (str)")
    try:
        array = np.atleast_1d(np.asarray(value, dtype=np.float64))
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a non-negative number or one per state, got {value!r}") from None
    if array.ndim != 1 or array.size == 0 or not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ValueError(f"{name} must be finite and non-negative, got {value!r}")
    return tuple(float(v) for v in array)


def check_tolerances(rtol: tuple, atol: tuple, n_states: int) -> None:
    """Raise ``ValueError`` unless ``rtol``/``atol`` (from :func:`tolerance_tuple`) fit ``n_states``."""
    for name, value in (("rtol", rtol), ("atol", atol)):
        if len(value) not in (1, n_states):
            raise ValueError(f"{name} has {len(value)} entries; expected 1 or n_states={n_states} (one per state), "
                             f"got {list(value)!r}")
    if max(rtol) == 0.0 and max(atol) == 0.0:
        raise ValueError("rtol and atol cannot both be zero")


def tolerance_values(rtol: tuple, atol: tuple, n_states: int) -> dict:
    """Run-time values ``rtol`` and ``atol``, each broadcast to ``n_states`` (see :func:`weighted_rms_norm`)."""
    return {"rtol": np.broadcast_to(rtol, n_states), "atol": np.broadcast_to(atol, n_states)}


def weighted_rms_norm(backend, precision, n_states: int, rtol_offset: int, atol_offset: int):
    """Device function ``norm(error, y_old, y_new, settings)``: the controllers' error norm.

    The RMS over states of ``error_j / (atol_j + max(|y_old_j|, |y_new_j|)
    * rtol_j)``, the tolerances read at ``precision`` from ``settings``
    (a factory's run-time block holding :func:`tolerance_values` at the
    given offsets). A step that weighs candidate error vectors itself (a
    residual estimate) uses this same function, so its choice agrees with
    the loop's.
    """
    dtype = np.dtype(precision).type
    zero, count = dtype(0.0), dtype(n_states)

    def norm(error, y_old, y_new, settings):
        total = zero
        for j in range(n_states):
            rtol, atol = dtype(settings[rtol_offset + j]), dtype(settings[atol_offset + j])
            scale = atol + max(abs(y_old[j]), abs(y_new[j])) * rtol
            ratio = error[j] / scale
            total += ratio * ratio
        return math.sqrt(total / count)

    return backend.device_function(norm)


@attrs.frozen
class ControllerSettings:
    """Settings every controller has.

    Attributes
    ----------
    n_states : int
        System size.
    rtol, atol : tuple of float
        Relative and absolute tolerances, one per state (a scalar is
        broadcast). Run-time settings, as are every subclass's constants.
    order : int
        Order used in the controller's exponents (the method's order).
    """

    n_states: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    rtol: tuple = runtime_setting(default=(1e-6,), converter=tolerance_tuple)
    atol: tuple = runtime_setting(default=(1e-6,), converter=tolerance_tuple)
    order: int = attrs.field(default=1, validator=attrs.validators.ge(1))

    def __attrs_post_init__(self):
        check_tolerances(self.rtol, self.atol, self.n_states)


@attrs.frozen
class ControllerBuild:
    """The compiled controller: ``control``, ``initialise`` and ``norm``."""

    device_function: object
    initialise: object
    norm: object
    is_adaptive: bool


class StepController(CUDAFactory):
    """Base of the controllers; subclasses implement :meth:`build_control`.

    ``history_size`` is the number of LOCAL_PERSISTENT elements of history
    the controller keeps (``history``; disabled when 0).
    """

    Settings = ControllerSettings
    history_size = 0
    is_adaptive = True
    #: The settings fields of the control law's constants (what a user tunes; the control law reads each).
    constants: tuple[str, ...] = ()

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.register_buffer("history", "local_persistent", self.history_size, enabled=self.history_size > 0)

    def runtime_values(self) -> dict:
        """The tolerances, then the control law's constants (:meth:`control_values`)."""
        s = self.settings
        return {**tolerance_values(s.rtol, s.atol, s.n_states), **self.control_values()}

    def control_values(self) -> dict:
        """Numbers the control law reads at run time, by name (subclasses)."""
        return {}

    def build_norm(self):
        """Device function: weighted RMS norm of an error vector (:func:`weighted_rms_norm`)."""
        return weighted_rms_norm(self.backend, self.precision, self.settings.n_states,
                                 self.runtime_offset("rtol"), self.runtime_offset("atol"))

    def build_control(self):
        """Return ``(control, initialise)`` device functions (subclasses)."""
        raise NotImplementedError

    def build(self) -> ControllerBuild:
        control, initialise = self.build_control()
        return ControllerBuild(control, initialise, self.build_norm(), self.is_adaptive)

    def constant(self, value):
        """``value`` as a constant of the working precision (keeps float32 code float32)."""
        return self.precision.type(value)
