"""A linear solver that keeps failing is counted per run, warned of, and ends its run when it stalls.

kvaerno3 on a 20-state Brusselator (10 cells) with GMRES held to too few
iterations: with one iteration and a 1e-12 tolerance no solve can succeed,
and after MAX_LINEAR_FAILURES_IN_A_ROW shrinking retries the run ends with
LINEAR_SOLVER_FAILED instead of creeping on in ever smaller steps; with
three, most solves fail yet every run finishes, in twenty times the steps,
which the counter and a warning show. All share one compiled kernel: the
iteration cap and the tolerance are run-time settings.
"""

import warnings

import numpy as np
import pytest

import batchode
from batchode import Status
from batchode.loop import MAX_LINEAR_FAILURES_IN_A_ROW
from batchode.systems.examples import brusselator

B_VALUES = [2.8, 3.0, 3.4]


@pytest.fixture(scope="module")
def gmres():
    return batchode.Solver(brusselator(10), method="kvaerno3", linear_solver="gmres", save_time_series=False,
                           backend="cpu")


def solve(solver, **settings):
    solver.update(**settings)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = solver.solve((0.0, 10.0), parameters={"B": B_VALUES}, progress=False)
    stalled = [w for w in caught if issubclass(w.category, RuntimeWarning) and "n_linear_solver_failures" in
               str(w.message)]
    return result, stalled


def test_a_stalled_krylov_solver_ends_the_run_with_its_status(gmres):
    result, stalled = solve(gmres, krylov_max_iterations=1, krylov_tolerance=1e-12)
    assert (result.status == int(Status.LINEAR_SOLVER_FAILED)).all(), result.status_names()
    assert (result.n_linear_solver_failures == MAX_LINEAR_FAILURES_IN_A_ROW).all()
    assert (result.t_final < 10.0).all() and np.isnan(result.final_state).all()
    assert len(stalled) == 1 and "3 of 3 runs" in str(stalled[0].message)


def test_frequent_failures_that_still_finish_are_counted_and_warned_of(gmres):
    result, stalled = solve(gmres, krylov_max_iterations=3, krylov_tolerance=None)
    assert result.success.all(), result.status_names()
    # Measured: 10,300-11,100 failures in 11,200-11,900 accepted steps (the
    # default solver takes 413-551); the bound only asks that they are counted.
    assert (result.n_linear_solver_failures > 0.5 * result.n_accepted).all()
    assert (result.n_rejected >= result.n_linear_solver_failures).all()
    assert len(stalled) == 1


def test_a_healthy_solve_counts_no_failure_and_warns_of_none(gmres):
    result, stalled = solve(gmres, krylov_max_iterations=100, krylov_tolerance=None)
    assert result.success.all() and (result.n_linear_solver_failures == 0).all()
    assert not stalled
