"""Integration methods: tableaus (data) and one engine per family."""

from __future__ import annotations

from batchode.algorithms.dirk import DIRKStep, newton_solution_gain
from batchode.algorithms.erk import ERKStep
from batchode.algorithms.firk import FIRKStep
from batchode.algorithms.rosenbrock import RosenbrockStep
from batchode.algorithms.tableaus import ButcherTableau, available_methods, estimates_error, get_tableau


def make_step(method, system_factory, compute_error: bool, linear_solver=None, tolerances=None,
              newton_settings=None, dense_output=False):
    """The step factory for ``method`` (a name or a tableau) on ``system_factory``.

    DIRK methods get a Newton child holding the linear solver
    ``linear_solver`` ("dense", "sparse", "gmres", "minres", or None for the default
    by system size); Rosenbrock methods hold the linear solver directly.
    Fully implicit methods iterate on their coupled stages themselves with
    one LU per block of their transformed Newton matrix: ``linear_solver``
    "dense", "sparse" or None for them (:func:`block_solver_name`).

    ``tolerances`` (``rtol`` and ``atol``, the run's) go to every factory of
    the step that weighs errors with them: Newton (DIRK) and the fully
    implicit iteration, whose convergence tests use the error weights; an
    explicit step only when it forms a residual estimate, and a DIRK step
    only when it forms a history estimate. Every other step stays
    independent of the tolerances, so its compiled code is shared across
    them. ``newton_settings`` (Newton's settings, or ``tolerance`` and
    ``max_iterations`` of the fully implicit iteration) override what
    ``tolerances`` set; DIRK's Newton also gets the tableau's
    :func:`~batchode.algorithms.dirk.newton_solution_gain`. ``dense_output``
    asks an explicit, Rosenbrock or fully implicit step whose tableau has its
    own interpolant (a fully implicit step: its collocation polynomial) to
    keep its stages for it (the loop's saves).
    """
    from batchode.solvers.linear import block_solver_name, make_linear_solver
    from batchode.solvers.newton import Newton

    tableau = get_tableau(method)
    common = dict(tableau=tableau, n_states=system_factory.n_states, compute_error=compute_error)
    newton = {**(tolerances or {}), **(newton_settings or {})}

    def weights(estimate):
        return (tolerances or {}) if compute_error and estimate is not None else {}

    if tableau.family == "erk":
        return ERKStep(system_factory, **common, **weights(tableau.residual_estimate), dense_output=dense_output)
    if tableau.family == "dirk":
        newton = {"solution_gain": newton_solution_gain(tableau), **newton}
        newton_factory = Newton(system_factory, make_linear_solver(linear_solver, system_factory), **newton)
        return DIRKStep(system_factory, newton_factory, **common, **weights(tableau.history_estimate))
    if tableau.family == "rosenbrock":
        return RosenbrockStep(system_factory, make_linear_solver(linear_solver, system_factory), **common,
                              dense_output=dense_output)
    if tableau.family == "firk":
        iteration = {key: newton[key] for key in ("rtol", "atol") if key in newton}
        iteration.update({f"newton_{key}": newton[key] for key in ("tolerance", "max_iterations") if key in newton})
        blocks = block_solver_name(linear_solver, system_factory.system, tableau.name)
        return FIRKStep(system_factory, linear_solver=blocks, **common, **iteration, dense_output=dense_output)
    raise ValueError(f"method {tableau.name!r} is of the {tableau.family} family, which has no engine")


__all__ = ["ButcherTableau", "DIRKStep", "ERKStep", "FIRKStep", "RosenbrockStep", "available_methods",
           "estimates_error", "get_tableau", "make_step"]
