"""Step-size controllers: ``fixed``, ``i``, ``pi``, ``pid``, ``gustafsson``."""

from __future__ import annotations

import difflib

import attrs

from batchode.control.base import ControllerBuild, StepController
from batchode.control.defaults import default_pi_constants
from batchode.control.fixed import FixedStepController
from batchode.control.gustafsson import GustafssonController
from batchode.control.integral import IntegralController
from batchode.control.pi import PIController
from batchode.control.pid import PIDController

CONTROLLERS: dict[str, type[StepController]] = {
    "fixed": FixedStepController,
    "i": IntegralController,
    "pi": PIController,
    "pid": PIDController,
    "gustafsson": GustafssonController,
}


def controller_class(name: str) -> type[StepController]:
    """The controller class for ``name`` (case-insensitive)."""
    key = str(name).strip().lower()
    if key not in CONTROLLERS:
        close = difflib.get_close_matches(key, list(CONTROLLERS), n=2)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"unknown step_controller {name!r}; expected one of {sorted(CONTROLLERS)}{hint}")
    return CONTROLLERS[key]


def make_controller(name: str, method: str, order: int, estimate_order: int | None = None,
                    **settings) -> StepController:
    """Build controller ``name`` for ``method``; PI gets Julia's per-method defaults.

    ``settings`` are the controller's settings (``n_states``, ``rtol``,
    ``atol``, constants) plus the factory options ``precision`` and
    ``backend``; constants not given take the method's defaults.

    ``order`` is the method's; PI's default constants follow it (Julia's
    formula uses ``alg_order``). ``estimate_order`` (default ``order``) is
    that of the solution the error estimate measures the step against, and
    sets the exponents of the other controllers (their ``order`` setting):
    Julia's integral, PID and predictive controllers use
    ``get_current_adaptive_order`` there, and RADAU5's estimate of order 3
    for the order-5 Radau IIA gives it the exponent 1/4 (Hairer & Wanner,
    Solving ODEs II, section IV.8).
    """
    cls = controller_class(name)
    fields = {field.name for field in attrs.fields(cls.Settings)}
    if cls is PIController:
        for key, value in default_pi_constants(method, order).items():
            settings.setdefault(key, value)
    if "order" in fields:
        settings.setdefault("order", order if estimate_order is None else estimate_order)
    return cls(**settings)


__all__ = [
    "CONTROLLERS", "ControllerBuild", "FixedStepController", "GustafssonController",
    "IntegralController", "PIController", "PIDController", "StepController",
    "controller_class", "make_controller",
]
