"""Integration methods: tableaus (data) and one engine per family."""

from __future__ import annotations

from batchode.algorithms.erk import ERKStep
from batchode.algorithms.tableaus import ButcherTableau, available_tableaus, get_tableau


def available_methods() -> tuple[str, ...]:
    """Names of every built-in method."""
    return available_tableaus()


def make_step(method, system_factory, compute_error: bool):
    """The step factory for ``method`` (a name or a tableau) on ``system_factory``."""
    tableau = get_tableau(method)
    return ERKStep(system_factory, tableau=tableau, n_states=system_factory.n_states,
                   compute_error=compute_error)


__all__ = ["ButcherTableau", "ERKStep", "available_methods", "get_tableau", "make_step"]
