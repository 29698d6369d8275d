"""Unknown setting names: what the user probably meant.

People arrive with the names of scipy's ``solve_ivp``, DifferentialEquations.jl
and diffrax in their fingers; :data:`FOREIGN_NAMES` maps those to batchode's
(or says why there is no such setting). Anything else gets the closest
public setting names.
"""

from __future__ import annotations

import difflib

from batchode.options.table import BY_NAME

#: Other libraries' setting names -> batchode's setting, or why there is none.
#: (s: scipy.integrate.solve_ivp, j: DifferentialEquations.jl, d: diffrax)
FOREIGN_NAMES = {
    "max_step": "dt_max",  # s
    "dtmax": "dt_max",  # j
    "first_step": "dt",  # s
    "dt0": "dt",  # d
    "min_step": "dt_min",  # s (LSODA)
    "dtmin": "dt_min",  # j, d
    "reltol": "rtol",  # j
    "abstol": "atol",  # j
    "maxiters": "max_steps",  # j
    "gamma": "safety",  # j
    "factormin": "qmin",  # d
    "factormax": "qmax",  # d
    "pcoeff": "beta1 (with step_controller='pid')",  # d
    "icoeff": "beta2 (with step_controller='pid')",  # d
    "dcoeff": "beta3 (with step_controller='pid')",  # d
    "solver": "method",  # d
    "alg": "method",  # j
    "stepsize_controller": "step_controller",  # d
    "controller": "step_controller",  # j
    "linsolve": "linear_solver",  # j
    "max_newton_iter": "newton_max_iterations",
    "dtype": "precision",
    "device": "backend",
    "callback": "events",  # j
    "args": "the parameters= argument of solve()",  # s, d
    "p": "the parameters= argument of solve()",  # j
    "t_eval": "the t_eval= argument of solve()",  # s
    "saveat": "the t_eval= or save_every= argument of solve()",  # j, d
    "save_everystep": "the save_every= argument of solve()",  # j
    "tstops": "the t_eval= argument of solve() (with step_to_saves=True to step onto them)",  # j
    "dense_output": "nothing: saves between steps are interpolated by default (step_to_saves=False)",  # s
    "dense": "nothing: saves between steps are interpolated by default (step_to_saves=False)",  # j
    "vectorized": "nothing: every run is integrated in parallel already",  # s
    "adaptive": "step_controller ('fixed' for fixed steps with dt=...)",  # j
    "jac": "ODESystem(..., jacobian=...) (equation systems derive theirs)",  # s, j
}


def unknown_setting_message(key: str, tree_keys=()) -> str:
    """The error message for setting ``key``, which is not a public one.

    ``tree_keys`` are the factory tree's own keys (the expert route), whose
    close matches are suggested for a key that looks like one.
    """
    if key in FOREIGN_NAMES:
        return f"unknown setting {key!r}: batchode calls it {FOREIGN_NAMES[key]}"
    close = difflib.get_close_matches(key, list(BY_NAME), n=2, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(key, list(tree_keys), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    return (f"unknown setting {key!r}{hint} (settings: {', '.join(BY_NAME)}; see help(batchode.Solver); "
            "buffer locations go in locations={...}, see Solver.describe_memory())")
