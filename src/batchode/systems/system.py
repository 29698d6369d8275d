"""The user-facing description of an ODE system: :class:`ODESystem`."""

import functools
import hashlib
import inspect
import math
import numbers
import warnings
from collections.abc import Callable, Mapping, Sequence

import attrs
import numpy as np
import sympy

from batchode.systems.codegen import DeviceFunctions, compile_source, driver_function_name, generate_source
from batchode.systems.derivatives import (
    DerivativeFunctions,
    finite_difference_functions,
    generate_derivative_source,
    jacobian_sparsity,
)
from batchode.systems.drivers import Driver, as_driver, compile_driver
from batchode.systems.model import SymbolicModel, build_model, check_name
from batchode.systems.parsing import parse_equations


@attrs.frozen(repr=False)
class ODESystem:
    """A small ODE system ``dy/dt = f(t, y, p)``, integrated one trajectory per thread.

    Build one with :meth:`from_equations` (text, compiled to generated code)
    or :meth:`from_function` (a numba-compilable Python function).  Systems
    are immutable and hashable.

    Attributes
    ----------
    state_names, parameter_names, observable_names, constant_names : tuple of str
        Names in the order of the ``y``, ``p`` and observables arrays
        (constants are baked into the generated code and have no array).
    cache_key : str
        Changes whenever the compiled code would change: a hash of the
        generated source and of the exact symbolic derivatives (from which
        :attr:`derivative_source` is generated) for equations; module,
        qualified name and a hash of the source (or bytecode) of each
        function for a Python function, with ``finite-difference`` for each
        derivative it was not given.
    generated_source : str or None
        The Python source compiled for an equation system (see
        :meth:`from_equations`); None for a Python function.
    symbolic : SymbolicModel or None
        SymPy expressions of an equation system, e.g. for Jacobians; None for
        a Python function.
    rhs_function : callable or None
        The user's function for :meth:`from_function`; None for equations.
    rhs_returns : bool
        True when :attr:`rhs_function` is ``rhs(t, y, p)`` returning the
        derivatives (scipy's form) rather than ``rhs(t, y, p, dydt)``
        writing them.
    user_jvp, user_jacobian, user_time_derivative : callable or None
        The derivative functions given to :meth:`from_function`; None for
        equations and for those left to finite differences.
    drivers : tuple of (str, Driver)
        The sampled forcing inputs of an equation system, by name.
    """

    state_names: tuple[str, ...]
    parameter_names: tuple[str, ...]
    observable_names: tuple[str, ...]
    constant_names: tuple[str, ...]
    # None marks "no default": unlike NaN it compares equal to itself, which
    # keeps equality and hashing of systems well-behaved.
    _parameter_defaults: tuple[float | None, ...]
    _initial_state: tuple[float | None, ...]
    cache_key: str
    generated_source: str | None
    symbolic: SymbolicModel | None = attrs.field(eq=False)
    rhs_function: Callable | None
    user_jvp: Callable | None = None
    user_jacobian: Callable | None = None
    user_time_derivative: Callable | None = None
    drivers: tuple[tuple[str, Driver], ...] = ()
    rhs_returns: bool = False

    @classmethod
    def from_equations(
        cls,
        equations: str | Sequence[str],
        parameters: Sequence[str] | Mapping[str, float] = (),
        initial_state: Sequence[str] | Mapping[str, float] | None = None,
        constants: Mapping[str, float] | None = None,
        drivers: Mapping[str, object] | None = None,
    ) -> "ODESystem":
        """Define a system by equations written as text.

        Parameters
        ----------
        equations : str or sequence of str
            One equation per line (blank lines and ``#`` comments allowed) or
            a list of equations.  ``dx = expr`` gives the derivative of state
            ``x``; ``name = expr`` defines an observable, a value that can be
            saved and that other equations may use, in any order.  ``t`` is
            time.  Expressions may use numbers, names, ``+ - * / **``, and the
            functions ``sin cos tan exp log sqrt tanh sinh cosh asin acos atan
            atan2 abs min max pow floor ceil``, plus ``ifelse(a < b, x, y)``
            (one comparison with ``<``, ``<=``, ``>`` or ``>=``).  ``pi`` and
            ``e`` are the numbers unless the system defines those names.
            ``dx/dt = expr`` and ``x' = expr`` (at the start of a line) are
            synonyms of ``dx = expr``.  The text is parsed, never evaluated.
        parameters : sequence of str or Mapping[str, float], optional
            Parameter names, or names with default values.  A missing, None
            or NaN default means the value must be supplied.
        initial_state : sequence of str or Mapping[str, float], optional
            The state names (with default initial values if a mapping).  Each
            needs an equation ``d<name> = ...``; other equations are
            observables.  If omitted, the states are those of the equations
            ``dx/dt = ...`` and ``x' = ...``, and of every ``dx = ...`` whose
            ``x`` some right-hand side uses, in order of appearance; a
            ``d<name> = ...`` whose ``<name>`` nothing uses (``decay = k*x``:
            a state ``ecay``, or an observable?) is an error.
        constants : Mapping[str, float], optional
            Names whose values are baked into the generated code (real
            numbers; infinities allowed).
        drivers : Mapping[str, Driver or (times, values)], optional
            Forcing inputs given as samples, used in the equations by name
            like parameters and interpolated at the current time
            (:class:`~batchode.systems.drivers.Driver`; a ``(times,
            values)`` pair means a cubic spline held constant outside the
            samples).  Their samples are baked into the compiled code, shared
            by every run; new samples mean a new compilation.

        Returns
        -------
        ODESystem

        Raises
        ------
        ValueError
            Quoting the equation (and its line or position) for text that
            does not parse, unknown symbols (with close matches), unsupported
            operators, functions or syntax, a complex value, a state without
            or with two equations, an ambiguous ``d<name> = ...``, a name
            defined twice or as two kinds of names (also two names equal
            after Unicode NFKC normalisation, as Python reads names), a
            reserved name (listed in the message), a default or constant
            that is not a real number, or observables defined in terms of
            each other in a cycle.

        Notes
        -----
        Common subexpressions are shared (:func:`sympy.cse`) and integer
        powers become multiplications.  In the generated source every number
        is cast to the chosen precision, so float32 code stays float32.
        ``min``/``max`` behave like Python's with NaN arguments (a NaN may be
        dropped), and ``floor``/``ceil`` go through a 64-bit integer on the
        CPU, so they are only exact for ``|x| < 2**63``.

        The derivatives for implicit solvers
        (:meth:`make_derivative_functions`) are exact, differentiated by
        SymPy branch-wise (see
        :func:`~batchode.systems.derivatives.generate_derivative_source`)
        when first asked for.
        """
        parameter_names, parameter_defaults = _names_and_defaults(parameters, "parameter")
        state_names, initial_values = (
            (None, None) if initial_state is None else _names_and_defaults(initial_state, "state")
        )
        constants = {
            name: _real_number(value, f"constant {name!r}", allow_infinite=True)
            for name, value in (constants or {}).items()
        }
        driver_list = tuple((name, as_driver(name, value)) for name, value in (drivers or {}).items())
        model = build_model(parse_equations(equations), state_names, parameter_names, constants,
                            tuple(name for name, _ in driver_list))
        source = generate_source(model)
        # The derivatives are generated on demand from the exact expressions,
        # which the printed source does not pin down to the last bit (a
        # rational 1/3 and the float 0.333... print alike).
        samples = "".join(f"{name}:{driver.digest};" for name, driver in driver_list)
        key = hashlib.sha256((source + sympy.srepr(model.derivatives) + samples).encode()).hexdigest()
        return cls(
            state_names=tuple(s.name for s in model.states),
            parameter_names=parameter_names,
            observable_names=tuple(s.name for s in model.observables),
            constant_names=tuple(constants),
            parameter_defaults=parameter_defaults,
            initial_state=initial_values or (None,) * len(model.states),
            cache_key=f"equations:{key}",
            generated_source=source,
            symbolic=model,
            rhs_function=None,
            drivers=driver_list,
        )

    @classmethod
    def from_function(
        cls,
        rhs: Callable,
        state_names: Sequence[str],
        parameters: Sequence[str] | Mapping[str, float] = (),
        initial_state: Sequence[float] | Mapping[str, float] | None = None,
        *,
        jvp: Callable | None = None,
        jacobian: Callable | None = None,
        time_derivative: Callable | None = None,
    ) -> "ODESystem":
        """Define a system by a numba-compilable Python function.

        Parameters
        ----------
        rhs : callable
            ``rhs(t, y, p, dydt)`` writing the derivatives into ``dydt``, or
            ``rhs(t, y, p)`` returning them (scipy's form; a tuple works on
            every backend, an array only on the CPU, since CUDA device code
            cannot allocate one).  It must compile with ``numba.njit`` and
            ``numba.cuda.jit(device=True)``, and run as plain Python: it is
            called once here (see Notes).  A numba dispatcher is accepted;
            its Python function is used.
        state_names : sequence of str
        parameters : sequence of str or Mapping[str, float], optional
            As for :meth:`from_equations`.
        initial_state : sequence of float or Mapping[str, float], optional
            Default initial values, in state order or by name.
        jvp, jacobian, time_derivative : callable, optional
            Derivatives for implicit solvers, compilable like ``rhs``, with
            the signatures of :class:`DerivativeFunctions`, ``work`` included
            (they may ignore it): ``jvp(t, y, p, v, out, work)``,
            ``jacobian(t, y, p, out, work)`` (row-major),
            ``time_derivative(t, y, p, out, work)``.  Each one left out is
            approximated by finite differences of ``rhs``, accurate to about
            ``sqrt(eps)`` relative (see :meth:`make_derivative_functions`).

        Returns
        -------
        ODESystem

        Raises
        ------
        TypeError
            If ``rhs`` (or a derivative function) takes another number of
            arguments than its signature above.
        ValueError
            If a function, called once in Python (see Notes), indexes past
            the end of an array, leaves an entry of its output unwritten,
            returns what it should write (or the wrong number of values), or
            raises.

        Notes
        -----
        Compiled code does not check array bounds: a function writing past
        ``dydt`` would corrupt memory or crash the interpreter.  So each
        function is first called as plain Python at ``t = 0.5`` with
        ``y`` and ``p`` spread over [0.3, 0.7] in float64 arrays of exactly
        ``n_states`` and ``n_parameters`` entries, where such an index raises
        ``IndexError``; the outputs start as NaN, and an entry still NaN is
        checked again from infinity, to tell an unwritten entry from a NaN
        result.  A math domain or arithmetic error at that point (which
        compiled code turns into NaN or infinity) skips the check with a
        warning.

        Such systems have no observables and no symbolic form (so no
        generated Jacobian).  :attr:`cache_key` hashes the functions' source
        (bytecode if the source is unavailable) but not the values of the
        globals or closure variables they read.
        """
        function = _python_function(rhs, "rhs")
        given = {"jvp": jvp, "jacobian": jacobian, "time_derivative": time_derivative}
        derivatives = {
            name: None if f is None else _python_function(f, name) for name, f in given.items()
        }
        if isinstance(state_names, str) or not isinstance(state_names, Sequence):
            raise TypeError(f"state_names must be a sequence of names, got {state_names!r}")
        states = tuple(check_name(name, "state") for name in state_names)
        parameter_names, parameter_defaults = _names_and_defaults(parameters, "parameter")
        for name in parameter_names:
            check_name(name, "parameter")
        _check_distinct(states + parameter_names)
        initial_values = _initial_values(initial_state, states)
        returns = _check_functions(function, derivatives, len(states), len(parameter_names))
        return cls(
            state_names=states,
            parameter_names=parameter_names,
            observable_names=(),
            constant_names=(),
            parameter_defaults=parameter_defaults,
            initial_state=initial_values,
            cache_key=";".join(
                [_function_key(function) + (":returns" if returns else "")]
                + [
                    f"{name}={'finite-difference' if f is None else _function_key(f)}"
                    for name, f in derivatives.items()
                ]
            ),
            generated_source=None,
            symbolic=None,
            rhs_function=function,
            user_jvp=derivatives["jvp"],
            user_jacobian=derivatives["jacobian"],
            user_time_derivative=derivatives["time_derivative"],
            rhs_returns=returns,
        )

    @property
    def n_states(self) -> int:
        """Number of states."""
        return len(self.state_names)

    @property
    def n_parameters(self) -> int:
        """Number of parameters."""
        return len(self.parameter_names)

    @property
    def n_observables(self) -> int:
        """Number of observables."""
        return len(self.observable_names)

    @property
    def default_parameters(self) -> np.ndarray:
        """Default parameter values (float64, NaN where none); a new array each time."""
        return _to_array(self._parameter_defaults)

    @property
    def default_initial_state(self) -> np.ndarray:
        """Default initial state (float64, NaN where none); a new array each time."""
        return _to_array(self._initial_state)

    def make_device_functions(
        self, decorator: Callable[[Callable], Callable], precision: type[np.floating]
    ) -> DeviceFunctions:
        """Compile the system's functions.

        Parameters
        ----------
        decorator : callable
            Turns a Python function into a compiled one: ``numba.njit`` for
            the CPU (with ``error_model="numpy"``, division by zero gives
            inf/NaN as on the GPU instead of raising),
            ``lambda f: numba.cuda.jit(device=True)(f)`` for CUDA, or the
            identity for plain Python functions.
        precision : numpy.float32 or numpy.float64
            The floating-point type of ``t`` and of the arrays passed in.

        Returns
        -------
        DeviceFunctions
            ``dxdt(t, y, p, dydt)`` and ``observables(t, y, p, out)``; the
            latter does nothing for systems without observables.
        """
        precision = _check_precision(precision)
        if self.generated_source is not None:
            return compile_source(self.generated_source, precision, decorator,
                                  helpers=self.driver_functions(decorator, precision))
        if self.rhs_returns:
            return compile_source(_storing_source(self.n_states), precision, decorator,
                                  helpers={"_returning": decorator(self.rhs_function)})
        return DeviceFunctions(decorator(self.rhs_function), decorator(_no_observables))

    def driver_functions(self, decorator, precision) -> dict:
        """Compiled value and slope functions of every driver, by the names generated code calls."""
        helpers = {}
        for name, driver in self.drivers:
            value, slope = compile_driver(driver, decorator, precision)
            helpers[driver_function_name(name)] = value
            helpers[driver_function_name(name, slope=True)] = slope
        return helpers

    @functools.cached_property
    def derivative_source(self) -> str | None:
        """The Python source of the derivative functions of an equation system.

        Generated on first use (see :meth:`make_derivative_functions`); None
        for a Python function.
        """
        if self.symbolic is None:
            return None
        return generate_derivative_source(self.symbolic)

    @functools.cached_property
    def jacobian_sparsity(self) -> tuple[tuple[int, int], ...] | None:
        """The structurally non-zero entries of the Jacobian ``df/dy``, for linear solvers.

        A tuple of ``(row, column)`` pairs sorted row-major (hashable, so it
        can be a compile-time setting): the entries the generated
        ``jacobian`` computes; every other entry is zero for all ``t``,
        ``y`` and ``p``.  Found by SymPy on first use (see
        :func:`~batchode.systems.derivatives.jacobian_sparsity`).  None for
        a Python-function system, whose structure is unknown: treat every
        entry as possibly non-zero.
        """
        if self.symbolic is None:
            return None
        return jacobian_sparsity(self.symbolic)

    def make_derivative_functions(
        self,
        decorator: Callable[[Callable], Callable],
        precision: type[np.floating],
        dxdt: Callable | None = None,
    ) -> DerivativeFunctions:
        """Compile the derivatives of the right-hand side, for implicit solvers.

        Parameters
        ----------
        decorator : callable
            As for :meth:`make_device_functions`.
        precision : numpy.float32 or numpy.float64
        dxdt : callable, optional
            The right-hand side already compiled with ``decorator`` (by
            :meth:`make_device_functions`), which finite differences call;
            compiled anew if omitted.  Unused by equation systems.

        Returns
        -------
        DerivativeFunctions
            ``jvp(t, y, p, v, out, work)``, ``jacobian(t, y, p, out, work)``
            and ``time_derivative(t, y, p, out, work)``, with ``work`` scratch
            of ``2 * n_states`` entries, and ``jacobian_diagonal(t, y, p,
            out, work)`` and ``jacobian_values(t, y, p, out)`` for equation
            systems (None for a Python function).

        Notes
        -----
        Equation systems get exact derivatives, generated by SymPy
        (:attr:`derivative_source`).  A Python-function system uses the
        functions given to :meth:`from_function` and forward differences
        for the others, each step scaled by ``sqrt(eps)``: ``jvp`` from one
        extra call to ``dxdt``, ``jacobian`` from ``n_states`` (one per
        column), ``time_derivative`` from one.  Their error is about
        ``sqrt(eps)`` relative (1e-8 in float64, 3e-4 in float32), enough
        for Newton iterations but not for a Jacobian that must be exact; see
        :func:`~batchode.systems.derivatives.finite_difference_functions`.
        """
        precision = _check_precision(precision)
        if self.derivative_source is not None:
            return compile_source(self.derivative_source, precision, decorator, DerivativeFunctions,
                                  helpers=self.driver_functions(decorator, precision))
        if dxdt is None:
            dxdt = self.make_device_functions(decorator, precision).dxdt
        supplied = (self.user_jvp, self.user_jacobian, self.user_time_derivative)
        fallback = finite_difference_functions(dxdt, self.n_states, precision)
        return DerivativeFunctions(
            *(decorator(f if user is None else user) for user, f in zip(supplied, fallback))
        )

    def __repr__(self) -> str:
        parts = [f"states={self.state_names}", f"parameters={self.parameter_names}"]
        if self.observable_names:
            parts.append(f"observables={self.observable_names}")
        if self.constant_names:
            parts.append(f"constants={self.constant_names}")
        if self.rhs_function is not None:
            parts.append(f"rhs={self.rhs_function.__qualname__}")
        return f"ODESystem({', '.join(parts)})"


def _no_observables(t, y, p, out):
    return None


def _storing_source(n_states: int) -> str:
    """Source of ``dxdt(t, y, p, dydt)`` storing what ``_returning(t, y, p)`` returns.

    One statement per state with a constant index, so that numba also
    accepts a returned tuple mixing types (``(y[1], 0)``), which it cannot
    index with a loop variable.
    """
    stores = "".join(f"    _dydt[{i}] = _values[{i}]\n" for i in range(n_states))
    return (
        "def dxdt(t, _y, _p, _dydt):\n    _values = _returning(t, _y, _p)\n" + stores
        + "\n\ndef observables(t, _y, _p, _out):\n    return\n"
    )


# The signatures of the functions of a Python-function system, for messages.
_SIGNATURES = {
    "rhs": "rhs(t, y, p, dydt) writing dydt[0 .. n_states - 1], or rhs(t, y, p) returning n_states values",
    "jvp": "jvp(t, y, p, v, out, work) writing out[0 .. n_states - 1]",
    "jacobian": "jacobian(t, y, p, out, work) writing out[0 .. n_states**2 - 1] row-major",
    "time_derivative": "time_derivative(t, y, p, out, work) writing out[0 .. n_states - 1]",
}

# The point where each function is called once in Python, before anything is compiled.
_PROBE_TIME, _PROBE_LOW, _PROBE_HIGH = 0.5, 0.3, 0.7


def _positional_count(function: Callable) -> int | None:
    """Required positional parameters of ``function``; None if it takes ``*args`` or cannot tell."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return None
    return sum(
        p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        and p.default is inspect.Parameter.empty
        for p in parameters
    )


def _check_functions(
    rhs: Callable, derivatives: Mapping[str, Callable | None], n: int, n_parameters: int
) -> bool:
    """Call each function of a Python-function system once in Python; return whether ``rhs`` returns.

    ``n`` is the number of states.  See the Notes of :meth:`ODESystem.from_function`.
    """
    count = _positional_count(rhs)
    if count not in (3, 4, None):
        raise TypeError(f"rhs takes {count} arguments; expected {_SIGNATURES['rhs']}")
    returns = count == 3
    t = np.float64(_PROBE_TIME)
    y, p = np.linspace(_PROBE_LOW, _PROBE_HIGH, n), np.linspace(_PROBE_LOW, _PROBE_HIGH, n_parameters)
    if returns:
        returned = _call(rhs, "rhs", (t, y, p))
        if returned is not _SKIPPED:
            _check_returned(returned, n)
    else:
        _probe(rhs, "rhs", (t, y, p), np.empty(n))
    inputs = {"jvp": (t, y, p, np.linspace(-1.0, 1.0, n)), "jacobian": (t, y, p), "time_derivative": (t, y, p)}
    for name, function in derivatives.items():
        if function is None:
            continue
        count = _positional_count(function)
        if count not in (len(inputs[name]) + 2, None):
            raise TypeError(f"{name} takes {count} arguments; expected {_SIGNATURES[name]}")
        output = np.empty(n * n if name == "jacobian" else n)
        _probe(function, name, inputs[name], output, np.full(2 * n, np.nan))
    return returns


# What _call returns when the function raised an arithmetic error at the probe point.
_SKIPPED = object()


def _probe(function: Callable, what: str, inputs: tuple, output: np.ndarray, *extra: np.ndarray) -> None:
    """Call ``function(*inputs, output, *extra)``, checking that it writes every entry of ``output``."""
    unwritten = None
    returned = None
    for fill in (np.nan, np.inf):  # the second call only tells unwritten entries from NaN results
        output[:] = fill
        returned = _call(function, what, (*inputs, output, *extra))
        if returned is _SKIPPED:
            return
        still = (output == fill) if fill == np.inf else np.isnan(output)
        unwritten = still if unwritten is None else unwritten & still
        if not unwritten.any():
            return
    if what == "rhs" and returned is not None:
        raise ValueError(
            f"rhs returned a {type(returned).__name__} and left dydt unwritten: expected "
            f"{_SIGNATURES['rhs']} (a function of four arguments must write into dydt)"
        )
    raise ValueError(
        f"{what} did not write entry {int(np.flatnonzero(unwritten)[0])} of its output "
        f"({int(unwritten.sum())} of {output.size} entries unwritten at t={_PROBE_TIME}); expected "
        f"{_SIGNATURES[what]}, every entry written, zeros included (the output is not cleared "
        "before the call)"
    )


def _call(function: Callable, what: str, arguments: tuple):
    """Call ``function`` in Python, turning its errors into ones that say what was expected."""
    sizes = ", ".join(str(len(a)) for a in arguments[1:])
    described = f"called once in Python as {what}(t, arrays of exactly {sizes} entries)"
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            # Storing a complex value into dydt drops its imaginary part
            # with only a warning here (compiled, it does not type-check).
            warnings.simplefilter("error", np.exceptions.ComplexWarning)
            return function(*arguments)
    except IndexError as error:
        raise ValueError(
            f"{what} indexed past the end of an array when {described}: {error}. Compiled, that "
            f"reads or writes outside the array (a crash or corrupted memory); expected "
            f"{_SIGNATURES[what]}, with n_states = {len(arguments[1])} and n_parameters = "
            f"{len(arguments[2])}"
        ) from error
    except Exception as error:
        # Compiled code computes NaN or infinity where Python raises these:
        # the probe point is unlucky, the function need not be wrong.
        if not (isinstance(error, ArithmeticError) or "math domain error" in str(error)):
            raise ValueError(f"{what} raised {type(error).__name__}: {error} when {described}; "
                             f"expected {_SIGNATURES[what]}") from error
        warnings.warn(
            f"{what} was not checked for out-of-bounds writes: {described} at t={_PROBE_TIME}, y and "
            f"p in [{_PROBE_LOW}, {_PROBE_HIGH}], it raised {type(error).__name__}: {error} (compiled "
            "code gives NaN or infinity there instead)",
            stacklevel=4,
        )
        return _SKIPPED


def _check_returned(returned: object, n_states: int) -> None:
    """Check that a scipy-style ``rhs(t, y, p)`` returned ``n_states`` real numbers."""
    expected = f"expected {_SIGNATURES['rhs']}"
    try:
        values = np.asarray(returned)
    except ValueError:  # a ragged sequence
        values = np.asarray(None)
    if returned is None or values.dtype.kind not in "iuf":
        raise ValueError(
            f"rhs(t, y, p) returned {returned!r} ({type(returned).__name__}), not real numbers; {expected}"
        )
    if values.shape != (n_states,):
        raise ValueError(
            f"rhs(t, y, p) returned {values.size} value(s) of shape {values.shape} for {n_states} "
            f"states; {expected}"
        )


def _names_and_defaults(
    values: Sequence[str] | Mapping[str, float], kind: str
) -> tuple[tuple[str, ...], tuple[float | None, ...]]:
    """Split names, or a mapping of names to defaults, into names and defaults."""
    if isinstance(values, Mapping):
        names = tuple(values)
        label = "initial state" if kind == "state" else kind
        defaults = tuple(_optional_float(v, f"{label} {n!r}") for n, v in values.items())
    elif isinstance(values, Sequence) and not isinstance(values, str):
        names = tuple(values)
        defaults = (None,) * len(names)
    else:
        raise TypeError(f"{kind}s must be a sequence of names or a mapping of names to values, got {values!r}")
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"{kind} names must be strings, got {name!r}")
    _check_distinct(names)
    return names, defaults


def _initial_values(
    values: Sequence[float] | Mapping[str, float] | None, states: tuple[str, ...]
) -> tuple[float | None, ...]:
    if values is None:
        return (None,) * len(states)
    if isinstance(values, Mapping):
        unknown = set(values) - set(states)
        if unknown:
            raise ValueError(f"initial_state names unknown states {sorted(unknown)}; the states are {list(states)}")
        return tuple(
            _optional_float(values[s], f"initial state {s!r}") if s in values else None for s in states
        )
    values = tuple(values)
    if len(values) != len(states):
        raise ValueError(f"initial_state has {len(values)} values for {len(states)} states")
    return tuple(_optional_float(v, f"initial state {s!r}") for s, v in zip(states, values))


def _python_function(function: Callable, what: str) -> Callable:
    """The Python function of ``function``, unwrapping a numba dispatcher."""
    function = getattr(function, "py_func", function)
    if not callable(function):
        raise TypeError(f"{what} must be a function, got {function!r}")
    return function


def _check_distinct(names: Sequence[str]) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise ValueError(f"'{name}' is listed twice; expected each state and parameter name once")
        seen.add(name)


def _optional_float(value: object, what: str) -> float | None:
    """A default value: a finite real number, or None for "none" (None or NaN)."""
    if value is None:
        return None
    number = _real_number(value, what, allow_infinite=False)
    return None if math.isnan(number) else number


def _real_number(value: object, what: str, allow_infinite: bool) -> float:
    """``value`` as a float, if it is a real number (finite unless ``allow_infinite``)."""
    expected = "a real number" if allow_infinite else "a finite real number (NaN or None: no default)"
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise ValueError(f"{what}: {value!r} ({type(value).__name__}) is not a number; expected {expected}")
    number = float(value)
    if math.isinf(number) and not allow_infinite:
        raise ValueError(f"{what}: {value!r} is not finite; expected {expected}")
    return number


def _to_array(values: tuple[float | None, ...]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _check_precision(precision: type[np.floating]) -> type[np.floating]:
    dtype = np.dtype(precision)
    if dtype not in (np.float32, np.float64):
        raise ValueError(f"precision must be numpy.float32 or numpy.float64, got {precision!r}")
    return dtype.type


def _function_key(function: Callable) -> str:
    try:
        code = inspect.getsource(function).encode()
    except (OSError, TypeError):
        # No source file (e.g. defined in an interactive session): hash what
        # the function computes instead.
        co = function.__code__
        code = co.co_code + repr((co.co_consts, co.co_names)).encode()
    digest = hashlib.sha256(code).hexdigest()
    return f"function:{function.__module__}.{function.__qualname__}:{digest}"
