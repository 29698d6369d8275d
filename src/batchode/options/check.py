"""All of a solver's settings checked together, before anything is built."""

from __future__ import annotations

import warnings

import numpy as np

from batchode.control.base import check_tolerances, tolerance_tuple
from batchode.options.table import BY_NAME
from batchode.solvers.linear import krylov
from batchode.solvers.newton import convergence_tolerance

#: The smallest adaptive step when ``dt_min`` is not given.
DEFAULT_DT_MIN = 1e-12
#: Relative tolerances below this many machine epsilons of the working
#: precision cannot be met (an error estimate is itself rounded at a few
#: eps); like scipy (which uses 100 eps of float64), they are raised to it
#: with a warning. 5 keeps float32's customary rtol = 1e-6 (8.4 eps).
RTOL_FLOOR_EPSILONS = 5


def _tolerances(settings: dict, precision: np.dtype, n_states: int) -> tuple[tuple, tuple]:
    rtol, atol = tolerance_tuple(settings["rtol"], "rtol"), tolerance_tuple(settings["atol"], "atol")
    check_tolerances(rtol, atol, n_states)
    floor = RTOL_FLOOR_EPSILONS * float(np.finfo(precision).eps)
    if min(rtol) < floor:
        # stacklevel: this function, checked_settings, Solver.update, Solver.__init__, then the user's call.
        warnings.warn(f"rtol={settings['rtol']!r} is below {RTOL_FLOOR_EPSILONS} machine epsilons of "
                      f"{precision.name} ({floor:.1e}), which no error estimate can resolve; "
                      f"using rtol = max(rtol, {floor:.1e})", UserWarning, stacklevel=5)
        rtol = tuple(max(value, floor) for value in rtol)
    return rtol, atol


def _inner_tolerances(checked: dict, precision: np.dtype) -> None:
    """Derive ``krylov_tolerance`` from rtol when not given; warn of given inner tolerances the precision cannot meet.

    Newton's floor is applied on the device side (its factory's
    :func:`~batchode.solvers.newton.convergence_tolerance`); here a given
    value below it is only reported.
    """
    rtol = checked["rtol"]
    given, floor = checked["krylov_tolerance"], krylov.tolerance_floor(precision)
    if given is None:
        checked["krylov_tolerance"] = krylov.default_tolerance(rtol, precision)
    elif given < floor:
        warnings.warn(f"krylov_tolerance={given!r} is below {krylov.TOLERANCE_FLOOR_EPSILONS} machine epsilons of "
                      f"{precision.name} ({floor:.1e}): the rounded residual cannot reach it, so every solve would "
                      f"fail and shrink the step; using krylov_tolerance = {floor:.1e}", UserWarning, stacklevel=5)
        checked["krylov_tolerance"] = floor
    newton = checked["newton_tolerance"]
    reachable = None if newton is None else convergence_tolerance(newton, rtol, precision)
    if newton is not None and reachable > newton:
        warnings.warn(f"newton_tolerance={newton!r} is below what a Newton update in {precision.name} can resolve "
                      f"at rtol={min(rtol)!r}; using {reachable:.1e} (10 eps / min(rtol))", UserWarning, stacklevel=5)


def checked_settings(settings: dict, n_states: int) -> dict:
    """``settings`` (every public setting, and ``method``) with each value checked and put in its checked form.

    None stays None for a setting whose default is None (resolved where it
    is used), except ``dt_min``, which becomes :data:`DEFAULT_DT_MIN`. ``rtol`` and
    ``atol`` become tuples that fit ``n_states``, ``rtol`` raised to
    :data:`RTOL_FLOOR_EPSILONS` machine epsilons with a warning, and
    ``krylov_tolerance`` derived from ``rtol`` and the precision when not
    given (:func:`batchode.solvers.linear.krylov.default_tolerance`).

    Raises
    ------
    TypeError, ValueError
        Naming the setting, the value given and what was expected.
    """
    checked = {}
    for name, value in settings.items():
        option = BY_NAME.get(name)
        unset = value is None and (option is None or option.default is None)
        checked[name] = value if option is None or unset else option.check(name, value)
    checked["rtol"], checked["atol"] = _tolerances(settings, checked["precision"], n_states)
    _inner_tolerances(checked, checked["precision"])
    if checked["dt_min"] is None:
        checked["dt_min"] = DEFAULT_DT_MIN
    if checked["dt_min"] > checked["dt_max"]:
        raise ValueError(f"dt_min={checked['dt_min']!r} is larger than dt_max={checked['dt_max']!r}; "
                         "expected dt_min <= dt_max")
    return checked
