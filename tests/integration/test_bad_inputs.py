"""A catalogue of bad inputs: each is refused with a clear error before anything is compiled.

One row per input: what is done, the exception expected, and fragments the
message must contain -- the bad value or name, and what was expected
instead.  Every row also checks, with numba's event API, that no
compilation happened before the error: a bad input must never cost a
compile (tens of seconds for an implicit method) or, worse, reach compiled
code.
"""

import numba.core.event
import numpy as np
import pytest

import batchode
from batchode import Solver, solve_ivp
from batchode.batch.store import ResultStore
from batchode.systems import ODESystem

pd = pytest.importorskip("pandas")
zarr = pytest.importorskip("zarr")
pytest.importorskip("distributed")


def decay(equations="dx = -k*x + c", parameters=None, **options):
    """The catalogue's system: one state x, parameters k and c with defaults."""
    return ODESystem.from_equations(equations, parameters={"k": 1.0, "c": 0.5} if parameters is None else parameters,
                                    **options)


def solve(t_span=(0.0, 1.0), system=None, **options):
    return solve_ivp(decay(initial_state={"x": 1.0}) if system is None else system, t_span,
                     **{"backend": "cpu", **options})


def function_system(rhs, states=("x", "v"), parameters=("k",), **derivatives):
    return ODESystem.from_function(rhs, list(states), list(parameters), **derivatives)


def user_directory(path):
    """An ordinary directory with a file in it, as a user's project would be."""
    path.mkdir()
    (path / "notes.txt").write_text("keep me")
    return path


def other_sweep_store(path):
    """A store batchode wrote for some other sweep."""
    ResultStore.create_or_resume(path, fingerprint="another sweep", chunks=[(0, 1)], times=np.array([1.0]),
                                 initial_state=np.zeros((1, 1)), parameters=np.zeros((1, 2)),
                                 outputs={"y": ((1, 1), np.dtype(np.float64))}, metadata={"method": "tsit5"})
    return path


def foreign_zarr_store(path):
    zarr.open_group(str(path), mode="w").create_array("a", shape=(2,), dtype="f8")
    return path


# Python functions with the classic mistakes.
def writes_half_free(t, y, p, dydt):
    dydt[0] = -0.5 * y[0]


def writes_past_dydt(t, y, p, dydt):
    dydt[0] = y[1]
    dydt[1] = -p[0] * y[0]
    dydt[2] = 0.0  # two states


def reads_past_p(t, y, p, dydt):
    dydt[0] = y[1]
    dydt[1] = -p[1] * y[0]  # one parameter


def returns_instead_of_writing(t, y, p, dydt):
    return np.array([y[1], -p[0] * y[0]])


def writes_half(t, y, p, dydt):
    dydt[0] = y[1]


def writes_complex(t, y, p, dydt):
    dydt[0] = y[1]
    dydt[1] = -p[0] * y[0] * 1j


def raises_name_error(t, y, p, dydt):
    dydt[0] = undefined_variable  # noqa: F821
    dydt[1] = y[0]


def returns_one_value(t, y, p):
    return (y[1],)


def returns_nothing(t, y, p):
    return None


def in_place(t, y, p, dydt):
    dydt[0] = y[1]
    dydt[1] = -p[0] * y[0]


def jacobian_past_the_end(t, y, p, out, work):
    for k in range(5):  # 2 states: 4 entries
        out[k] = 0.0


EXPECTED_FORMS = "'dx = expression', 'dx/dt = expression' or \"x' = expression\""
RHS_SIGNATURE = "rhs(t, y, p, dydt) writing dydt[0 .. n_states - 1]"

# (id, action(tmp), exception type(s), fragments of the message)
CASES = [
    # -- equations ------------------------------------------------------------------
    ("d-prefix of an unread name (decay)", lambda tmp: decay("dx = -k*x\ndecay = k*x"), ValueError,
     ["'decay'", "'ecay'", EXPECTED_FORMS, "initial_state"]),
    ("d-prefix of an unread name (dist)", lambda tmp: decay("dx = v\ndv = -k*x\ndist = sqrt(x**2 + v**2)"),
     ValueError, ["'dist'", "'ist'", EXPECTED_FORMS]),
    ("unknown symbol", lambda tmp: decay("dx = -k*x + q"), ValueError, ["'q'", "the names defined are c, e, k, pi, t"]),
    ("misspelled parameter", lambda tmp: decay("dx = -kk*x"), ValueError, ["'kk'", "did you mean 'k'"]),
    ("unknown symbol in x' form", lambda tmp: decay("x' = -k*q"), ValueError, ["x' = -k*q", "'q'", "names defined"]),
    ("unsupported function", lambda tmp: decay("dx = gamma(x)"), ValueError, ["gamma(x)", "allowed functions are"]),
    ("modulo operator", lambda tmp: decay("dx = x % 2"), ValueError, ["x % 2", "allowed are + - * / **"]),
    ("floor division", lambda tmp: decay("dx = x // 2"), ValueError, ["x // 2", "allowed are + - * / **"]),
    ("comparison outside ifelse", lambda tmp: decay("dx = x < 1"), ValueError, ["x < 1", "ifelse(condition"]),
    ("string constant", lambda tmp: decay("dx = 'x'"), ValueError, ["'x'", "allowed are numbers"]),
    ("boolean constant", lambda tmp: decay("dx = True"), ValueError, ["True", "expected a number"]),
    ("complex literal", lambda tmp: decay("dx = 1j*x"), ValueError, ["1j", "allowed are numbers"]),
    ("complex power", lambda tmp: decay("dx = (-8)**(1/3)*x"), ValueError,
     ["dx = (-8)**(1/3)*x", "complex number", "expected a real value"]),
    ("square root of -1", lambda tmp: decay("dx = sqrt(-1)"), ValueError, ["sqrt(-1)", "expected a real value"]),
    ("division by zero", lambda tmp: decay("dx = x/0"), ValueError, ["dx = x/0", "expected a finite real value"]),
    ("huge exact power", lambda tmp: decay("dx = 10**10**10"), ValueError, ["10**10**10", "at most 1024"]),
    ("unbalanced parenthesis", lambda tmp: decay("dx = -x\ndy = (y +"), ValueError,
     ["line 2 'dy = (y +'", "cannot parse", EXPECTED_FORMS]),
    ("augmented assignment", lambda tmp: decay("dx += 1"), ValueError, ["dx += 1", EXPECTED_FORMS]),
    ("attribute on the left", lambda tmp: decay("dx = -x\nx.a = 1"), ValueError, ["x.a = 1", "single name"]),
    ("two equations for one state", lambda tmp: decay("dx = -x\nx' = x"), ValueError,
     ["'dx' is defined twice", "x' = x", "one equation per name"]),
    ("observables in a cycle", lambda tmp: decay("dx = a\na = b + x\nb = a"), ValueError,
     ["cycle", "'a = b + x'", "defined without it"]),
    ("no state equation", lambda tmp: decay("a = k"), ValueError, ["no state equations", EXPECTED_FORMS]),
    ("declared state without equation", lambda tmp: decay("dx = -x", initial_state=["x", "y"]), ValueError,
     ["state 'y'", "'dy = ...'"]),
    ("x' for an undeclared state", lambda tmp: decay("dx = -x\ny' = x", initial_state=["x"]), ValueError,
     ["'y'", "not one of the states ['x']"]),
    ("function used without calling it", lambda tmp: decay("dx = sin"), ValueError,
     ["'sin'", "expected a call such as sin(x)"]),
    ("function with too many arguments", lambda tmp: decay("dx = sin(x, 1)"), ValueError,
     ["sin(x, 1)", "takes 1 argument(s), got 2"]),
    ("ifelse with a chained condition", lambda tmp: decay("dx = ifelse(0 < x < 1, 1, 2)"), ValueError,
     ["0 < x < 1", "single comparison with <, <=, > or >="]),
    ("lambda call", lambda tmp: decay("dx = (lambda: 1)()"), ValueError, ["(lambda: 1)()", "allowed functions are"]),
    ("equations not text", lambda tmp: decay(42), TypeError, ["42", "a string or a sequence of strings"]),
    # -- names ------------------------------------------------------------------------
    ("names equal after NFKC", lambda tmp: decay("dx = -ｋ*x", parameters={"k": 1.0, "ｋ": 2.0}), ValueError,
     ["'ｋ'", "'k'", "NFKC", "rename one of them"]),
    ("name not in NFKC form", lambda tmp: decay("dx = -µ*x", parameters=["µ"]), ValueError, ["'µ'", "use 'μ'"]),
    ("constant named dxdt", lambda tmp: decay("dx = -dxdt*x", constants={"dxdt": 1.0}), ValueError,
     ["'dxdt'", "the reserved names are", "'jacobian'"]),
    ("parameter named jacobian", lambda tmp: decay("dx = -jacobian*x", parameters=["jacobian"]), ValueError,
     ["'jacobian'", "the reserved names are"]),
    ("parameter named t", lambda tmp: decay(parameters=["t", "k", "c"]), ValueError,
     ["'t'", "reserved for time", "the reserved names are"]),
    ("name starting with _", lambda tmp: decay("dx = -_k*x", parameters=["_k"]), ValueError,
     ["'_k'", "starting with '_'"]),
    ("name not an identifier", lambda tmp: decay(parameters=["1k", "k", "c"]), ValueError,
     ["'1k'", "not a valid identifier"]),
    ("name both parameter and state", lambda tmp: decay("dx = -x", parameters=["x"]), ValueError,
     ["'x'", "both as a parameter and as a state"]),
    ("name listed twice", lambda tmp: function_system(in_place, parameters=["k", "k"]), ValueError,
     ["'k' is listed twice", "each state and parameter name once"]),
    ("parameter name not a string", lambda tmp: decay(parameters={1: 2.0}), TypeError,
     ["got 1", "names must be strings"]),
    ("parameters as one string", lambda tmp: decay(parameters="k"), TypeError, ["got 'k'", "a sequence of names"]),
    # -- parameters and initial values --------------------------------------------------
    ("default not a number", lambda tmp: decay(parameters={"k": "abc", "c": 0.0}), ValueError,
     ["parameter 'k'", "'abc'", "expected a finite real number"]),
    ("complex default", lambda tmp: decay(parameters={"k": 1j, "c": 0.0}), ValueError,
     ["parameter 'k'", "1j", "expected a finite real number"]),
    ("infinite default", lambda tmp: decay(parameters={"k": np.inf, "c": 0.0}), ValueError,
     ["parameter 'k'", "inf", "expected a finite real number"]),
    ("boolean default", lambda tmp: decay(parameters={"k": True, "c": 0.0}), ValueError,
     ["parameter 'k'", "True", "expected a finite real number"]),
    ("initial value not a number", lambda tmp: decay(initial_state={"x": "one"}), ValueError,
     ["initial state 'x'", "'one'", "expected a finite real number"]),
    ("constant not a number", lambda tmp: decay("dx = -g*x", constants={"g": "abc"}), ValueError,
     ["constant 'g'", "'abc'", "expected a real number"]),
    ("initial value of an unknown state", lambda tmp: function_system(in_place, initial_state={"q": 1.0}),
     ValueError, ["['q']", "the states are ['x', 'v']"]),
    ("initial values of the wrong length", lambda tmp: function_system(in_place, initial_state=[1.0]), ValueError,
     ["1 values for 2 states"]),
    ("sweep of an unknown parameter", lambda tmp: solve(parameters={"kk": [1.0, 2.0]}), ValueError,
     ["'kk'", "did you mean 'k'", "['k', 'c']"]),
    ("NaN in a sweep", lambda tmp: solve(parameters={"c": [0.0, np.nan]}), ValueError,
     ["parameter 'c'", "nan in run 1", "expected a finite number"]),
    ("infinite initial value", lambda tmp: solve(y0={"x": np.inf}), ValueError,
     ["initial state 'x'", "inf in run 0", "expected a finite number"]),
    ("parameter without default not given", lambda tmp: solve(system=decay(parameters=["k", "c"],
                                                                             initial_state={"x": 1.0})),
     ValueError, ["parameter 'k'", "no default; supply it"]),
    ("DataFrame with an unknown column", lambda tmp: solve(parameters=pd.DataFrame({"k": [1.0], "kc": [2.0]})),
     ValueError, ["column 'kc'", "the system's parameters are ['k', 'c']"]),
    ("DataFrame without column names", lambda tmp: solve(parameters=pd.DataFrame(np.ones((2, 2)))), ValueError,
     ["column 0", "matched by name"]),
    ("DataFrame of initial states by position", lambda tmp: solve(y0=pd.DataFrame(np.ones((2, 1)))), ValueError,
     ["column 0", "the system's states are ['x']"]),
    ("parameter array of the wrong width", lambda tmp: solve(parameters=np.ones((2, 3))), ValueError,
     ["shape (2, 3)", "(runs, 2)"]),
    ("2-D value in a dict", lambda tmp: solve(parameters={"k": np.ones((2, 2))}), ValueError,
     ["parameter 'k'", "shape (2, 2)", "a scalar or a 1-D array"]),
    ("sweeps of different lengths", lambda tmp: solve(parameters={"k": [1.0, 2.0], "c": [0.0, 1.0, 2.0]}),
     ValueError, ["k: 2", "c: 3", "grid='combinatorial'"]),
    ("empty sweep", lambda tmp: solve(parameters={"k": []}), ValueError,
     ["parameter 'k'", "empty sweep", "at least one value"]),
    ("unknown grid", lambda tmp: solve(parameters={"k": [1.0, 2.0]}, grid="cartesian"), ValueError,
     ["'cartesian'", "('verbatim', 'combinatorial')"]),
    ("parameter value text", lambda tmp: solve(parameters={"k": "abc"}), ValueError,
     ["parameter 'k'", "'abc'", "a number or a 1-D array of numbers"]),
    ("initial states of the wrong shape", lambda tmp: solve(y0=np.ones((2, 4))), ValueError,
     ["shape (2, 4)", "(runs, 1)"]),
    ("initial states as text", lambda tmp: solve(y0="abc"), ValueError, ["'abc'", "a dict by name"]),
    # -- time span and save grid ---------------------------------------------------------
    ("t_span of zero length", lambda tmp: solve(t_span=(0.0, 0.0)), ValueError,
     ["(0.0, 0.0)", "two different finite times"]),
    ("t_span to infinity", lambda tmp: solve(t_span=(0.0, np.inf)), ValueError, ["inf", "finite"]),
    ("t_span with NaN", lambda tmp: solve(t_span=(0.0, np.nan)), ValueError, ["nan", "finite"]),
    ("t_span as text", lambda tmp: solve(t_span="abc"), ValueError, ["'abc'", "two numbers (start, end)"]),
    ("t_span of three numbers", lambda tmp: solve(t_span=(0.0, 1.0, 2.0)), ValueError,
     ["(0.0, 1.0, 2.0)", "two numbers (start, end)"]),
    ("t_span missing", lambda tmp: solve(t_span=None), ValueError, ["None", "two numbers (start, end)"]),
    ("save_every zero", lambda tmp: solve(save_every=0.0), ValueError, ["save_every", "0.0", "positive number"]),
    ("save_every negative", lambda tmp: solve(save_every=-0.1), ValueError, ["-0.1", "positive number"]),
    ("save_every NaN", lambda tmp: solve(save_every=np.nan), ValueError, ["nan", "positive number"]),
    ("save_every as text", lambda tmp: solve(save_every="0.1"), ValueError, ["'0.1'", "positive number"]),
    ("t_eval unsorted", lambda tmp: solve(t_eval=[0.1, 0.5, 0.3]), ValueError,
     ["strictly increasing", "t_eval[1]=0.5", "t_eval[2]=0.3"]),
    ("t_eval repeated", lambda tmp: solve(t_eval=[0.1, 0.1]), ValueError, ["strictly increasing", "t_eval[0]=0.1"]),
    ("t_eval increasing on a backward span", lambda tmp: solve(t_span=(1.0, 0.0), t_eval=[0.2, 0.4]), ValueError,
     ["strictly decreasing", "backwards"]),
    ("t_eval outside t_span", lambda tmp: solve(t_eval=[0.5, 1.5]), ValueError,
     ["t_eval[1]=1.5", "outside t_span=(0.0, 1.0)"]),
    ("t_eval with NaN", lambda tmp: solve(t_eval=[0.5, np.nan]), ValueError, ["t_eval[1]", "nan", "finite"]),
    ("t_eval empty", lambda tmp: solve(t_eval=[]), ValueError, ["non-empty", "shape (0,)"]),
    ("t_eval 2-D", lambda tmp: solve(t_eval=[[0.1, 0.2]]), ValueError, ["1-D", "shape (1, 2)"]),
    ("t_eval as text", lambda tmp: solve(t_eval="0.5"), ValueError, ["t_eval", "'0.5'", "1-D sequence"]),
    ("t_eval and save_every", lambda tmp: solve(t_eval=[0.5], save_every=0.1), ValueError,
     ["either save_every or t_eval"]),
    ("save_from outside t_span", lambda tmp: solve(save_every=0.1, save_from=2.0), ValueError,
     ["save_from=2.0", "outside t_span=(0.0, 1.0)"]),
    ("save_from without save_every", lambda tmp: solve(save_from=0.5), ValueError, ["save_from needs save_every"]),
    ("save_from with t_eval", lambda tmp: solve(t_eval=[0.5], save_from=0.2), ValueError,
     ["save_from applies to save_every"]),
    ("save_from as text", lambda tmp: solve(save_every=0.1, save_from="0.5"), ValueError,
     ["save_from", "'0.5'", "finite number"]),
    ("step_to_saves not a bool", lambda tmp: solve(step_to_saves="yes"), TypeError,
     ["step_to_saves", "'yes'", "True or False"]),
    # -- events ------------------------------------------------------------------------
    ("event naming an unknown symbol", lambda tmp: solve(events=["xx - 1"]), ValueError,
     ["event 0 'xx - 1'", "unknown symbol 'xx'", "did you mean 'x'"]),
    ("event that does not parse", lambda tmp: solve(events=["x -"]), ValueError,
     ["event 0 'x -'", "does not parse"]),
    ("event that is empty", lambda tmp: solve(events=[" "]), ValueError, ["non-empty text", "' '"]),
    ("event direction 2", lambda tmp: solve(events=[dict(expression="x", direction=2)]), ValueError,
     ["event 'x'", "direction must be -1", "got 2"]),
    ("event terminal negative", lambda tmp: solve(events=[dict(expression="x", terminal=-1)]), ValueError,
     ["terminal must be True, False", "got -1"]),
    ("event max_records zero", lambda tmp: solve(events=[dict(expression="x", max_records=0)]), ValueError,
     ["event 'x'", "max_records", "got 0"]),
    ("event with an unknown field", lambda tmp: solve(events=[dict(expr="x")]), ValueError,
     ["unknown field(s) ['expr']", "expression, direction"]),
    ("two events of one name", lambda tmp: solve(events=["x", "x"]), ValueError,
     ["distinct", "['x']", "name="]),
    ("events as a number", lambda tmp: solve(events=5), TypeError, ["events must be", "got 5"]),
    ("events on a Python-function system",
     lambda tmp: solve(system=function_system(writes_half_free, states=("x",), parameters=()),
                       events=["x"]), ValueError, ["equation system", "Python function"]),
    ("summary window not a multiple", lambda tmp: solve(summaries=["mean"], save_every=0.1, summarise_every=0.25),
     ValueError, ["summarise_every=0.25", "whole multiple of save_every=0.1"]),
    ("summary window negative", lambda tmp: solve(summaries=["mean"], save_every=0.1, summarise_every=-1.0),
     ValueError, ["-1.0", "positive number"]),
    ("summary window without summaries", lambda tmp: solve(save_every=0.1, summarise_every=0.5), ValueError,
     ["summarise_every", "summaries=['mean', ...]"]),
    ("summaries without save times", lambda tmp: solve(summaries=["mean"]), ValueError,
     ["summary metrics", "pass save_every=..."]),
    # -- method and settings (validated here) -------------------------------------------
    ("unknown method", lambda tmp: solve(method="tsit6"), ValueError, ["'tsit6'", "tsit5"]),
    ("method not a name", lambda tmp: solve(method=42), TypeError, ["int", "a method name"]),
    ("unknown step controller", lambda tmp: solve(step_controller="pii"), ValueError, ["'pii'", "'pi'"]),
    ("fixed steps without dt", lambda tmp: solve(step_controller="fixed"), ValueError, ["'fixed'", "pass dt="]),
    ("negative dt", lambda tmp: solve(dt=-0.1), ValueError, ["dt", "-0.1", "positive number"]),
    ("method without error estimate, adaptive", lambda tmp: solve(method="ralston-33", step_controller="pi"),
     ValueError, ["'ralston-33'", "no error estimate"]),
    ("tolerance list of the wrong length", lambda tmp: solve(rtol=[1e-6, 1e-6]), ValueError,
     ["rtol has 2 entries", "expected 1 or n_states=1"]),
    ("max_steps zero", lambda tmp: solve(max_steps=0), ValueError, ["max_steps", "0", ">= 1"]),
    ("max_steps negative", lambda tmp: solve(max_steps=-5), ValueError, ["max_steps", "-5", ">= 1"]),
    ("dt_max zero", lambda tmp: solve(dt_max=0.0), ValueError, ["dt_max", "0.0", "positive"]),
    ("dt_min negative", lambda tmp: solve(dt_min=-1.0), ValueError, ["dt_min", "-1.0", "positive"]),
    ("unknown linear solver", lambda tmp: solve(method="kvaerno3", linear_solver="lu"), ValueError,
     ["'lu'", "['dense', 'gmres', 'minres', 'sparse']"]),
    ("unknown summary metric", lambda tmp: solve(summaries=["median"], save_every=0.1), ValueError,
     ["'median'", "did you mean 'mean'"]),
    ("summary of an unknown variable", lambda tmp: solve(summaries=["mean"], summarise_variables=["q"],
                                                         save_every=0.1), ValueError, ["'q'", "states ['x']"]),
    ("misspelled buffer location", lambda tmp: solve(loop_stat_location="shared"), ValueError,
     ["'loop_stat_location'", "did you mean 'loop_state_location'"]),
    ("unknown backend", lambda tmp: solve(backend="gpu"), ValueError, ["'gpu'", "'cpu', 'cuda' or 'auto'"]),
    ("chunk_runs zero", lambda tmp: solve(chunk_runs=0), ValueError, ["chunk_runs", "got 0", "positive integer"]),
    ("chunk_runs fractional", lambda tmp: solve(chunk_runs=2.5), ValueError, ["got 2.5", "positive integer"]),
    ("chunk_memory negative", lambda tmp: solve(chunk_memory=-1), ValueError, ["got -1", "positive number of bytes"]),
    # -- precision ------------------------------------------------------------------------
    ("precision float16", lambda tmp: solve(precision="float16"), ValueError, ["'float16'", "'float32' or 'float64'"]),
    ("precision 'double'", lambda tmp: solve(precision="double"), ValueError, ["'double'", "'float32' or 'float64'"]),
    ("precision int32", lambda tmp: solve(precision=np.int32), ValueError, ["int32", "'float32' or 'float64'"]),
    ("device functions in int32", lambda tmp: decay().make_device_functions(lambda f: f, np.int32), ValueError,
     ["int32", "numpy.float32 or numpy.float64"]),
    # -- outputs ------------------------------------------------------------------------------
    ("overwrite of an ordinary directory", lambda tmp: solve(output=user_directory(tmp / "proj").name,
                                                             overwrite=True),
     FileExistsError, ["'proj'", "did not write", "not replaced even with overwrite=True"]),
    ("output is the working directory", lambda tmp: solve(output=".", overwrite=True), ValueError,
     ["output='.'", "the working directory", "'results.zarr'"]),
    ("output above the working directory", lambda tmp: solve(output="..", overwrite=True), ValueError,
     ["output='..'", "above the working directory", "'results.zarr'"]),
    ("output is a file", lambda tmp: (tmp / "results.zarr").write_text("x") and solve(output="results.zarr"),
     FileExistsError, ["'results.zarr'", "does not hold this sweep"]),
    ("overwrite of a file", lambda tmp: (tmp / "r.zarr").write_text("x") and solve(output="r.zarr", overwrite=True),
     FileExistsError, ["'r.zarr'", "not a directory", "a path for a Zarr store"]),
    ("overwrite of another Zarr store", lambda tmp: solve(output=foreign_zarr_store(tmp / "theirs.zarr"),
                                                          overwrite=True),
     FileExistsError, ["theirs.zarr", "did not write"]),
    ("store of another sweep", lambda tmp: solve(output=other_sweep_store(tmp / "old.zarr")), FileExistsError,
     ["old.zarr", "does not hold this sweep", "overwrite=True"]),
    ("output not a path", lambda tmp: solve(output=42), TypeError, ["got 42", "a path (str or os.PathLike)"]),
    ("empty sweep into a store", lambda tmp: solve(parameters={"k": np.array([])}, output="s.zarr"), ValueError,
     ["parameter 'k'", "empty sweep"]),
    ("opening a missing store", lambda tmp: batchode.open_result("missing.zarr"), FileNotFoundError,
     ["'missing.zarr'", "nothing there", "output="]),
    ("opening an ordinary directory", lambda tmp: batchode.open_result(user_directory(tmp / "proj")),
     FileNotFoundError, ["proj", "no store batchode wrote", "output="]),
    # -- Python-function systems ----------------------------------------------------------------
    ("rhs writes past dydt", lambda tmp: function_system(writes_past_dydt), ValueError,
     ["index 2 is out of bounds", RHS_SIGNATURE, "n_states = 2"]),
    ("rhs writes past dydt (jitted)", lambda tmp: function_system(numba.njit(writes_past_dydt)), ValueError,
     ["index 2 is out of bounds", RHS_SIGNATURE]),
    ("rhs reads past p", lambda tmp: function_system(reads_past_p), ValueError,
     ["index 1 is out of bounds", "n_parameters = 1"]),
    ("rhs returns instead of writing", lambda tmp: function_system(returns_instead_of_writing), ValueError,
     ["returned a ndarray and left dydt unwritten", RHS_SIGNATURE]),
    ("rhs leaves an entry unwritten", lambda tmp: function_system(writes_half), ValueError,
     ["did not write entry 1", RHS_SIGNATURE]),
    ("rhs writes a complex number", lambda tmp: function_system(writes_complex), ValueError,
     ["ComplexWarning", RHS_SIGNATURE]),
    ("rhs raises", lambda tmp: function_system(raises_name_error), ValueError,
     ["NameError", "undefined_variable", RHS_SIGNATURE]),
    ("scipy-style rhs returns too few", lambda tmp: function_system(returns_one_value), ValueError,
     ["returned 1 value(s)", "for 2 states", "rhs(t, y, p) returning n_states values"]),
    ("scipy-style rhs returns nothing", lambda tmp: function_system(returns_nothing), ValueError,
     ["returned None", "rhs(t, y, p) returning n_states values"]),
    ("rhs of two arguments", lambda tmp: function_system(lambda t, y: y), TypeError,
     ["takes 2 arguments", RHS_SIGNATURE]),
    ("rhs not callable", lambda tmp: function_system(3), TypeError, ["got 3", "must be a function"]),
    ("state names as one string", lambda tmp: ODESystem.from_function(in_place, "xv"), TypeError,
     ["got 'xv'", "a sequence of names"]),
    ("jacobian writes past its output", lambda tmp: function_system(in_place, jacobian=jacobian_past_the_end),
     ValueError, ["jacobian indexed past the end", "index 4 is out of bounds", "n_states**2 - 1"]),
    ("jvp of the wrong signature", lambda tmp: function_system(in_place, jvp=lambda t, y, p, out, work: None),
     TypeError, ["jvp takes 5 arguments", "jvp(t, y, p, v, out, work)"]),
    ("system not an ODESystem", lambda tmp: Solver("dx = -x"), TypeError, ["str", "must be an ODESystem"]),
    # -- Dask -------------------------------------------------------------------------------------
    ("client as an address", lambda tmp: solve(client="127.0.0.1:8786"), TypeError,
     ["'127.0.0.1:8786'", "a dask.distributed.Client", "Client('127.0.0.1:8786')"]),
    ("client of another type", lambda tmp: solve(client=42), TypeError, ["got 42", "a dask.distributed.Client"]),
    ("client as an address, chunks given", lambda tmp: solve(client="tcp://10.0.0.1:8786", chunk_runs=1),
     TypeError, ["'tcp://10.0.0.1:8786'", "a dask.distributed.Client"]),

    # settings validation: fixed in api.py
    ("dt as text", lambda tmp: solve(dt="0.1"), (TypeError, ValueError), ["dt", "'0.1'", "positive number"]),
    ("rtol negative", lambda tmp: solve(rtol=-1.0), ValueError, ["rtol", "-1.0", "non-negative"]),
    ("atol negative", lambda tmp: solve(atol=-1.0), ValueError, ["atol", "-1.0", "non-negative"]),
    ("rtol NaN", lambda tmp: solve(rtol=np.nan), ValueError, ["rtol", "nan", "finite"]),
    ("rtol as text", lambda tmp: solve(rtol="1e-6"), (TypeError, ValueError), ["rtol", "'1e-6'", "number"]),
    ("max_steps as text", lambda tmp: solve(max_steps="100"), (TypeError, ValueError),
     ["max_steps", "'100'", "integer"]),
    ("max_steps fractional", lambda tmp: solve(max_steps=10.5), (TypeError, ValueError),
     ["max_steps", "10.5", "integer"]),
    ("dt_min above dt_max", lambda tmp: solve(dt_min=1.0, dt_max=0.1), ValueError, ["dt_min=1.0", "dt_max=0.1"]),
    ("dt_max as text", lambda tmp: solve(dt_max="1"), (TypeError, ValueError), ["dt_max", "'1'", "number"]),
    ("unknown setting", lambda tmp: solve(rtoll=1e-6), ValueError, ["'rtoll'", "did you mean 'rtol'"]),
    ("precision None", lambda tmp: solve(precision=None), (TypeError, ValueError),
     ["precision", "None", "'float32' or 'float64'"]),
    ("newton_tolerance negative", lambda tmp: solve(method="kvaerno3", newton_tolerance=-1.0), ValueError,
     ["newton_tolerance", "-1.0", "> 0"]),
    ("newton_max_iterations zero", lambda tmp: solve(method="kvaerno3", newton_max_iterations=0), ValueError,
     ["newton_max_iterations", "0", ">= 1"]),
    ("newton_max_iterations fractional", lambda tmp: solve(method="kvaerno3", newton_max_iterations=2.5),
     (TypeError, ValueError), ["newton_max_iterations", "2.5", "integer"]),
    ("save_observables not a bool", lambda tmp: solve(save_observables="no"), (TypeError, ValueError),
     ["save_observables", "'no'", "True or False"]),
]


@pytest.mark.parametrize("action, error, fragments", [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_bad_input_is_refused_clearly_before_compiling(action, error, fragments, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    compiles = numba.core.event.RecordingListener()
    numba.core.event.register("numba:compile", compiles)
    try:
        with pytest.raises(error) as raised:
            action(tmp_path)
    finally:
        numba.core.event.unregister("numba:compile", compiles)
    message = str(raised.value)
    missing = [fragment for fragment in fragments if fragment not in message]
    assert not missing, f"{missing} not in the message: {message}"
    assert not compiles.buffer, f"compiled before refusing: {[event.data for _, event in compiles.buffer][:3]}"


def test_the_catalogue_is_large_and_its_ids_unique():
    ids = [case[0] for case in CASES]
    assert len(ids) >= 80 and len(set(ids)) == len(ids)
