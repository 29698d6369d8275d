"""Per-run work counters: which entry of a run's ``counters`` row counts what."""

from __future__ import annotations

import enum


class Counter(enum.IntEnum):
    """Index of each work counter in a run's int32 ``counters`` row.

    The loop writes the step counts and the linear-solver failures; the
    implicit steps add their Newton and linear-solver iterations. Results carry each counter as the field
    :attr:`field` (``n_accepted``, ...).
    """

    ACCEPTED = 0
    REJECTED = 1
    NEWTON_ITERATIONS = 2
    LINEAR_ITERATIONS = 3
    #: Step attempts rejected because their linear solve failed (a Krylov
    #: method that did not converge, a zero pivot): each shrinks the step.
    LINEAR_SOLVER_FAILURES = 4

    @property
    def field(self) -> str:
        """The counter's name in results and stores: ``n_`` and the member's name in lower case."""
        return f"n_{self.name.lower()}"


#: Counters per run (the length of a run's ``counters`` row).
N_COUNTERS = len(Counter)

__all__ = ["N_COUNTERS", "Counter"]
