"""Per-trajectory status bit flags."""

from __future__ import annotations

import enum

import numpy as np


class Status(enum.IntFlag):
    """Why a trajectory stopped early; 0 (``SUCCESS``) means it reached the end.

    ``TERMINAL_EVENT`` is no failure: the run stopped where it was asked to.

    Flags combine: a run can be both ``DT_BELOW_MIN`` and ``NONFINITE``.
    """

    SUCCESS = 0
    MAX_STEPS = 1
    DT_BELOW_MIN = 2
    NONFINITE = 4
    NEWTON_FAILED = 8
    LINEAR_SOLVER_FAILED = 16
    #: The run was never integrated: the solve was interrupted (Ctrl-C) before it started.
    NOT_RUN = 32
    #: The run ended at a terminal event (:class:`batchode.events.Event`): a success, not a failure.
    TERMINAL_EVENT = 64


#: Status codes of runs that finished as asked: they reached the end of
#: their span, or stopped at a terminal event.
FINISHED = (int(Status.SUCCESS), int(Status.TERMINAL_EVENT))


def status_names(code: int) -> str:
    """Readable name(s) of a status code, e.g. ``"DT_BELOW_MIN|NONFINITE"``."""
    code = int(code)
    if code == 0:
        return "SUCCESS"
    names = [flag.name for flag in Status if flag and code & flag]
    unknown = code & ~sum(int(flag) for flag in Status)
    if unknown:
        names.append(f"UNKNOWN({unknown})")
    return "|".join(names)


def decode(codes: np.ndarray) -> np.ndarray:
    """Readable names for an array of status codes."""
    return np.array([status_names(code) for code in np.asarray(codes).ravel()]).reshape(np.shape(codes))
