"""The public settings: flat names that reach the right factory whatever the method's family.

Nothing here compiles: building a solver builds its factory tree, and the
tree's settings say where every value went.
"""

import inspect
import math
import re
from pathlib import Path

import numpy as np
import pytest
from numba.core import event

import batchode
from batchode import Solver
from batchode.options import OPTIONS, markdown_table
from batchode.systems.examples import robertson

#: One method per family.
METHODS = {"erk": "tsit5", "dirk": "kvaerno3", "rosenbrock": "rodas4", "firk": "radau-iia-5"}

#: A value for every routed setting, none of them its default.
VALUES = dict(rtol=1e-5, atol=1e-9, dt_min=1e-10, dt_max=0.5, max_steps=777, safety=0.85, qmin=0.25, qmax=7.0,
              qsteady_min=0.99, qsteady_max=1.1, beta1=0.2, beta2=0.05, beta3=0.01, qoldinit=2e-4,
              newton_tolerance=0.03, newton_max_iterations=7, krylov_tolerance=1e-7, krylov_restart=6,
              krylov_max_iterations=50, preconditioner="jacobi", neumann_terms=3)

#: Other settings a setting needs to apply (a PID controller for beta3, a Krylov solver for the Krylov keys).
NEEDS = dict(beta3=dict(step_controller="pid"), neumann_terms=dict(preconditioner="neumann"))
PI_ONLY = ("beta1", "beta2", "qoldinit")
KRYLOV = ("krylov_tolerance", "krylov_restart", "krylov_max_iterations", "preconditioner", "neumann_terms")

LOOP, CONTROLLER = ((), "{key}"), (("controller",), "{key}")
DIRK_NEWTON, FIRK_NEWTON = (("algorithm", "newton"), "{field}"), (("algorithm",), "newton_{field}")
DIRK_LINEAR, ROSENBROCK_LINEAR = (("algorithm", "newton", "linear"), "{field}"), (("algorithm", "linear"), "{field}")
EVERY_FAMILY = dict.fromkeys(METHODS)

#: key -> family -> (path from the loop, the setting's name there), or None where it does not apply.
WHERE = {
    **{key: {family: LOOP for family in METHODS} for key in ("dt_min", "dt_max", "max_steps")},
    **{key: {family: CONTROLLER for family in METHODS}
       for key in ("rtol", "atol", "safety", "qmin", "qmax", "qsteady_min", "qsteady_max", "beta1", "beta2",
                   "beta3", "qoldinit")},
    **{key: dict(EVERY_FAMILY, dirk=DIRK_NEWTON, firk=FIRK_NEWTON) for key in ("newton_tolerance",
                                                                                "newton_max_iterations")},
    **{key: dict(EVERY_FAMILY, dirk=DIRK_LINEAR, rosenbrock=ROSENBROCK_LINEAR) for key in KRYLOV},
}
#: The setting's name in its factory, where it differs from the public one.
FIELDS = dict(newton_tolerance="tolerance", newton_max_iterations="max_iterations",
              krylov_tolerance="tolerance", krylov_restart="restart", krylov_max_iterations="max_iterations")


@pytest.fixture(scope="module")
def system():
    return robertson()


def make(system, family, key, **settings):
    """A solver of the family's method with ``settings`` and what ``key`` needs to apply."""
    needs = dict(NEEDS.get(key, {}))
    if key in PI_ONLY and family == "firk":  # radau-iia-5's default controller is Gustafsson's
        needs["step_controller"] = "pi"
    if key in KRYLOV and family in ("dirk", "rosenbrock"):
        needs["linear_solver"] = "gmres"
    return Solver(system, METHODS[family], backend="cpu", **needs, **settings)


def factory_at(solver, path):
    factory = solver.loop
    for name in path:
        factory = factory.child(name)
    return factory


def test_every_routed_setting_is_covered():
    routed = {option.name for option in OPTIONS if option.owner != "tree"}
    assert routed == set(WHERE) == set(VALUES)


@pytest.mark.parametrize("family", sorted(METHODS))
@pytest.mark.parametrize("key", sorted(WHERE))
def test_a_setting_reaches_its_factory_in_every_family(system, key, family):
    where = WHERE[key][family]
    if where is None:
        with pytest.raises(ValueError, match=rf"{key}=.* does not apply to method '{METHODS[family]}'"):
            make(system, family, key, **{key: VALUES[key]})
        return
    path, name = where
    field = name.format(key=key, field=FIELDS.get(key, key))
    before = getattr(factory_at(make(system, family, key), path).settings, field)
    after = getattr(factory_at(make(system, family, key, **{key: VALUES[key]}), path).settings, field)
    assert np.all(np.atleast_1d(after) == VALUES[key]) and np.any(np.atleast_1d(before) != VALUES[key])


@pytest.mark.parametrize("family", sorted(METHODS))
def test_the_settings_that_shape_the_tree_shape_it_in_every_family(system, family):
    solver = Solver(system, METHODS[family], backend="cpu", step_controller="pid", precision="float32",
                    save_time_series=False, step_to_saves=True, summaries=["max"], cache=False)
    loop = solver.loop
    assert type(loop.child("controller")).__name__ == "PIDController"
    assert {factory.precision for factory in (solver.kernel, loop, loop.child("algorithm"))} == {np.dtype(np.float32)}
    assert not loop.settings.save_time_series and loop.settings.step_to_saves and not solver.kernel.disk_cache
    assert loop.child("summaries").layout[0][0] == "max"
    holder = {"dirk": ("algorithm", "newton"), "rosenbrock": ("algorithm",)}.get(family)
    if holder is None:
        with pytest.raises(ValueError, match="linear_solver='minres' does not apply"):
            Solver(system, METHODS[family], backend="cpu", linear_solver="minres")
    else:
        linear = factory_at(Solver(system, METHODS[family], backend="cpu", linear_solver="minres"), holder)
        assert type(linear.child("linear")).__name__ == "MinimalResidual"


@pytest.mark.parametrize("family", sorted(METHODS))
def test_the_tolerances_have_one_owner(system, family):
    """Every factory of the tree that weighs errors holds the controller's rtol and atol, and no other."""
    solver = make(system, family, "rtol", rtol=[1e-4, 1e-5, 1e-6], atol=1e-9)
    seen = []
    stack = [solver.kernel]
    while stack:
        factory = stack.pop()
        stack.extend(factory.children.values())
        rtol = getattr(factory.settings, "rtol", None)
        if rtol is not None:
            seen.append(factory.name)
            assert rtol == (1e-4, 1e-5, 1e-6) and factory.settings.atol == (1e-9,), factory.name
    assert "controller" in seen
    assert family not in ("dirk", "firk") or {"newton", "algorithm"} & set(seen)


@pytest.mark.parametrize("settings, match", [
    (dict(method="tsit5", preconditioner="jacobi"), r"preconditioner='jacobi' does not apply to method 'tsit5'"),
    (dict(method="tsit5", linear_solver="dense"), r"linear_solver='dense' does not apply.*no linear systems"),
    (dict(method="rodas4", newton_tolerance=0.1), r"newton_tolerance=0.1 .*'rodas4'.*no Newton iterations"),
    (dict(method="kvaerno3", linear_solver="dense", krylov_tolerance=1e-6),
     r"krylov_tolerance=1e-06 .*linear_solver='dense'.*'gmres' or 'minres'"),
    (dict(method="kvaerno3", linear_solver="minres", krylov_restart=5), r"only GMRES restarts"),
    (dict(method="kvaerno3", linear_solver="gmres", neumann_terms=4), r"preconditioner='neumann'"),
    (dict(method="tsit5", step_controller="pid", qoldinit=1e-3), r"'pid', whose constants are: safety"),
    (dict(method="tsit5", step_controller="fixed", dt=0.1, safety=0.5), r"'fixed', whose constants are: none"),
    (dict(method="radau-iia-5", linear_solver="gmres"), r"linear_solver='gmres' does not apply.*'dense', 'sparse'"),
])
def test_a_setting_that_does_not_apply_raises_before_compiling(system, settings, match):
    recorder = event.RecordingListener()
    event.register("numba:compile", recorder)
    try:
        with pytest.raises(ValueError, match=match):
            Solver(system, backend="cpu", **settings)
    finally:
        event.unregister("numba:compile", recorder)
    assert not recorder.buffer


def test_a_setting_given_earlier_that_stops_applying_raises(system):
    solver = Solver(system, "kvaerno3", backend="cpu", newton_max_iterations=5)
    with pytest.raises(ValueError, match="newton_max_iterations=5 does not apply to method 'rodas4'"):
        solver.update(method="rodas4")
    assert solver.method == "kvaerno3"  # nothing changed


#: Other libraries' names -> batchode's name the message must give.
FOREIGN = {"max_step": "dt_max", "dtmax": "dt_max", "first_step": "dt", "dt0": "dt", "min_step": "dt_min",
           "dtmin": "dt_min", "reltol": "rtol", "abstol": "atol", "maxiters": "max_steps", "saveat": "t_eval",
           "dense_output": "interpolated by default", "dense": "interpolated by default", "solver": "method",
           "alg": "method", "stepsize_controller": "step_controller", "linsolve": "linear_solver",
           "args": "parameters=", "callback": "events", "vectorized": "in parallel", "jac": "jacobian=",
           "factormax": "qmax", "gamma": "safety", "t_eval": "solve()",
           # misspellings get the closest setting
           "rtoll": "'rtol'", "safty": "'safety'", "krylov_tol": "'krylov_tolerance'",
           "precondtioner": "'preconditioner'", "newton_maxiter": "'newton_max_iterations'"}


@pytest.mark.parametrize("key", sorted(FOREIGN))
def test_an_unknown_setting_gets_a_useful_suggestion(system, key):
    with pytest.raises(ValueError) as raised:
        Solver(system, backend="cpu", **{key: 1})
    message = str(raised.value)
    assert f"unknown setting {key!r}" in message and FOREIGN[key] in message


def test_errors_never_name_internal_classes(system):
    solver = Solver(system, "kvaerno3", backend="cpu")
    classes, stack = set(), [solver.kernel]
    while stack:
        factory = stack.pop()
        classes.add(type(factory).__name__)
        stack.extend(factory.children.values())
    messages = []
    for settings in (dict(rtoll=1), dict(loop_stat_location="shared"), dict(preconditioner="jacobi"),
                     dict(locations={"nowhere": "shared"}), dict(method="tsit5", newton_tolerance=0.1)):
        with pytest.raises(ValueError) as raised:
            Solver(system, **{"method": "rodas4", "backend": "cpu", **settings})
        messages.append(str(raised.value))
    # Class names: CamelCase (a word such as "Newton" may name the method it stands for).
    classes = {name for name in classes if re.search("[a-z]", name) and sum(c.isupper() for c in name) >= 2}
    assert len(classes) > 5 and not [name for name in classes if any(name in m for m in messages)]


def test_the_tree_keys_stay_an_expert_route(system):
    solver = Solver(system, "kvaerno3", backend="cpu", loop_algorithm_newton_max_backtracks=0)
    assert solver.loop.child("algorithm").child("newton").settings.max_backtracks == 0
    with pytest.raises(ValueError, match=r"loop_algorithm_newton_max_backtracks=-1: .*>= 0"):
        Solver(system, "kvaerno3", backend="cpu", loop_algorithm_newton_max_backtracks=-1)


def test_buffer_locations_by_readable_path(system):
    dirk = Solver(system, "kvaerno3", backend="cpu", linear_solver="gmres",
                  locations={"algorithm.newton.linear.basis": "shared", "state": "local_persistent"})
    registry = dirk.loop.buffer_registry
    assert registry.child("algorithm").child("newton").child("linear").buffers["basis"].location.value == "shared"
    assert registry.buffers["state"].location.value == "local_persistent"
    # A unique tail names the buffer in every family that has it.
    rosenbrock = Solver(system, "rodas4", backend="cpu", linear_solver="gmres", locations={"linear.basis": "shared"})
    basis = rosenbrock.loop.buffer_registry.child("algorithm").child("linear").buffers["basis"]
    assert basis.location.value == "shared"
    with pytest.raises(ValueError, match=r"'factors' names 2 buffers \(algorithm.real_lu_0.factors, "):
        Solver(system, "radau-iia-5", backend="cpu", locations={"factors": "shared"})
    with pytest.raises(ValueError, match=r"locations\['state'\]: unknown buffer location 'sahred'"):
        Solver(system, "kvaerno3", backend="cpu", locations={"state": "sahred"})
    with pytest.raises(ValueError, match=r"no buffer 'algorithm.newton.linear.basi'; did you mean "
                                         r"'algorithm.newton.linear.basis'"):
        Solver(system, "kvaerno3", backend="cpu", linear_solver="gmres",
               locations={"algorithm.newton.linear.basi": "shared"})


def test_the_controller_constants_are_those_its_control_law_reads():
    """Changing a listed constant changes the run-time values; the controller reads no other constant."""
    from batchode.control import CONTROLLERS

    for name, cls in CONTROLLERS.items():
        base = cls(n_states=1, order=3)
        fields = {field for field in ("safety", "qmin", "qmax", "qsteady_min", "qsteady_max", "beta1", "beta2",
                                      "beta3", "qoldinit") if hasattr(base.settings, field)}
        read = set()
        for field in fields:
            changed = cls(n_states=1, order=3, **{field: getattr(base.settings, field) * 1.5 + 0.01})
            if not np.array_equal(changed.runtime_vector(), base.runtime_vector()):
                read.add(field)
        assert read == set(cls.constants), name


@pytest.mark.parametrize("documented", [batchode.solve_ivp, batchode.Solver, batchode.Solver.solve])
def test_the_docstring_documents_every_parameter_of_the_signature(documented):
    text = inspect.getdoc(documented)
    parameters = inspect.signature(documented).parameters
    missing = [name for name, parameter in parameters.items() if name != "self"
               and not re.search(rf"^\**{name} :|^\*\*{name}$", text, re.MULTILINE)]
    assert len(parameters) > 10 and not missing


def test_every_setting_is_documented_with_its_default_and_in_the_readme():
    signature = inspect.signature(batchode.solve_ivp)
    for option in OPTIONS:
        parameter = signature.parameters[option.name]
        same = parameter.default == option.default or (isinstance(option.default, float)
                                                         and math.isinf(option.default))
        assert parameter.kind is parameter.KEYWORD_ONLY and same, option.name
        assert f"{option.name} : {option.type}, default {option.default!r}" in inspect.getdoc(batchode.Solver)
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert markdown_table() in readme, "README's settings table is stale: paste batchode.options.markdown_table()"


def test_every_field_of_the_result_is_documented():
    from batchode import SolveResult

    text = inspect.getdoc(SolveResult)
    missing = [field.name for field in SolveResult.__attrs_attrs__
               if not re.search(rf"^{field.name}\b.*:|^{field.name}, |, {field.name}\b.*:", text, re.MULTILINE)]
    assert not missing
