"""Turn equation text into SymPy expressions without evaluating it.

User text is never passed to ``eval``, ``exec`` or SymPy's own parser (which
evaluates).  Each equation is parsed with :mod:`ast` and the syntax tree is
walked node by node; only whitelisted node types are turned into SymPy
objects, everything else is rejected with a message quoting the equation.
"""

import ast
import difflib
import operator
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence

import attrs
import sympy
from sympy.core.logic import fuzzy_and

TIME = "t"

# name -> (SymPy constructor, number of arguments; None means two or more).
FUNCTIONS: Mapping[str, tuple[Callable[..., sympy.Expr], int | None]] = {
    "sin": (sympy.sin, 1),
    "cos": (sympy.cos, 1),
    "tan": (sympy.tan, 1),
    "exp": (sympy.exp, 1),
    "log": (sympy.log, 1),
    "sqrt": (sympy.sqrt, 1),
    "tanh": (sympy.tanh, 1),
    "sinh": (sympy.sinh, 1),
    "cosh": (sympy.cosh, 1),
    "asin": (sympy.asin, 1),
    "acos": (sympy.acos, 1),
    "atan": (sympy.atan, 1),
    "atan2": (sympy.atan2, 2),
    "abs": (sympy.Abs, 1),
    "min": (sympy.Min, None),
    "max": (sympy.Max, None),
    "pow": (sympy.Pow, 2),
    "floor": (sympy.floor, 1),
    "ceil": (sympy.ceiling, 1),
}
IFELSE = "ifelse"

# Numbers equations may use by name; a user's name of the same spelling
# (a state ``e``, a parameter ``pi``) takes precedence.
BUILTIN_CONSTANTS: Mapping[str, sympy.Expr] = {"pi": sympy.pi, "e": sympy.E}

# The functions generated code defines, at module level next to the
# constants (the fields of DeviceFunctions and DerivativeFunctions).
GENERATED_NAMES = frozenset(
    {"dxdt", "observables", "jvp", "jacobian", "time_derivative", "jacobian_diagonal", "jacobian_values"}
)

# Names users may not define: time, the function names (the generated code
# calls ``abs``, ``min`` and ``max`` as builtins, which a local of the same
# name would shadow) and the generated functions' names.
RESERVED_NAMES = frozenset(FUNCTIONS) | {IFELSE, TIME} | GENERATED_NAMES

# A left-hand side naming a state's derivative explicitly, at the start of a
# line: ``dx/dt = ...`` or ``x' = ...`` (also with the prime sign ``′``).
_IDENTIFIER = r"[^\W\d]\w*"
_EXPLICIT_DERIVATIVE = re.compile(
    rf"d\s*(?P<fraction>{_IDENTIFIER})\s*/\s*dt\s*(?==(?!=))|(?P<prime>{_IDENTIFIER})\s*['′]\s*(?==(?!=))"
)
# What stands for such a left-hand side while the line is parsed: a name no
# user may define (it starts with '_'), followed by the state's name.
_DERIVATIVE_PLACEHOLDER = "_derivative_of_"

#: The accepted forms of an equation, for error messages.
EQUATION_FORMS = (
    "'dx = expression', 'dx/dt = expression' or \"x' = expression\" for the derivative of "
    "state x, and 'name = expression' for an observable"
)

_ALLOWED_FUNCTIONS = ", ".join(sorted([*FUNCTIONS, IFELSE]))

_BINARY_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_UNARY_OPERATORS = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_COMPARISONS = {ast.Lt: sympy.Lt, ast.LtE: sympy.Le, ast.Gt: sympy.Gt, ast.GtE: sympy.Ge}

# SymPy computes integer powers of numbers exactly, so ``10**10**10`` would
# hang; larger exponents of exact numbers are refused.
_MAX_EXACT_EXPONENT = 1024

_NON_REAL_VALUES = (
    sympy.S.ImaginaryUnit,
    sympy.S.ComplexInfinity,
    sympy.S.Infinity,
    sympy.S.NegativeInfinity,
    sympy.S.NaN,
)


class IfElse(sympy.Function):
    """``IfElse(condition, if_true, if_false)``: the SymPy form of ``ifelse``.

    Used instead of :class:`sympy.Piecewise`, whose automatic rewriting of
    conditions recurses forever on some inputs (SymPy 1.14, e.g. the
    condition ``exp(-2*c**2) <= x - 2*c``).  Derivatives ignore the jump at
    the switching point, as a Jacobian for an ODE solver should.
    """

    @classmethod
    def eval(cls, condition, if_true, if_false):
        if condition is sympy.true:
            return if_true
        if condition is sympy.false:
            return if_false
        # Equal branches need no test; this also makes the derivative of
        # ifelse(c, x, x + 1) the plain number 1 (and a zero a structural one).
        if if_true == if_false:
            return if_true
        return None

    def _eval_is_real(self):
        return fuzzy_and(argument.is_real for argument in self.args[1:])

    def _eval_derivative(self, symbol):
        condition, if_true, if_false = self.args
        return IfElse(condition, if_true.diff(symbol), if_false.diff(symbol))


def make_symbol(name: str) -> sympy.Symbol:
    """Return the SymPy symbol used for ``name`` everywhere in batchode.

    Symbols are real so that SymPy simplifies ``sqrt(x**2)`` to ``Abs(x)`` and
    differentiates ``Abs`` without complex parts (needed for Jacobians).
    """
    return sympy.Symbol(name, real=True)


@attrs.frozen
class Equation:
    """One parsed equation ``lhs = rhs``.

    Attributes
    ----------
    lhs : str
        The assigned name, e.g. ``"dx"``; ``"d<state>"`` for the explicit
        forms ``dx/dt = ...`` and ``x' = ...``.
    rhs : ast.expr
        The unevaluated syntax tree of the right-hand side.
    text : str
        The equation as written, for error messages.
    location : str
        ``"line N"`` or ``"equation N"``, for error messages.
    state : str or None
        The state whose derivative an explicit form (``dx/dt = ...``,
        ``x' = ...``) gives; None for ``name = ...``, whose meaning
        (derivative or observable) depends on the system's states.
    """

    lhs: str
    rhs: ast.expr = attrs.field(eq=False)
    text: str
    location: str
    state: str | None = None

    def describe(self) -> str:
        """Return the location and quoted text, to start error messages."""
        return f"{self.location} '{self.text}'"


def parse_equations(equations: str | Sequence[str]) -> tuple[Equation, ...]:
    """Split equations into syntax trees, checking only their form.

    Parameters
    ----------
    equations : str or sequence of str
        One string with one equation per line (blank lines and ``#``
        comments allowed), or a list of equation strings.  An equation is
        ``name = expression``, or one of the explicit derivative forms
        ``dx/dt = expression`` and ``x' = expression`` at the start of a
        line.

    Returns
    -------
    tuple of Equation
        In the order written.

    Raises
    ------
    ValueError
        If some text does not parse or is not of one of those forms.
    """
    if isinstance(equations, str):
        return _parse_block(equations, lambda line: f"line {line}")
    if not isinstance(equations, Sequence) or not all(isinstance(e, str) for e in equations):
        raise TypeError(f"equations must be a string or a sequence of strings, got {equations!r}")
    parsed: list[Equation] = []
    for index, text in enumerate(equations, start=1):
        parsed.extend(_parse_block(text, lambda _line, i=index: f"equation {i}"))
    return tuple(parsed)


def _parse_block(source: str, locate: Callable[[int], str]) -> tuple[Equation, ...]:
    # Equations have no indented blocks, so leading whitespace only gets in
    # the way (e.g. in a triple-quoted string starting on the first line).
    written = [line.lstrip() for line in source.splitlines()]
    # Explicit derivative forms are not Python: their left-hand side is
    # replaced by a placeholder name for ast, and put back in the text.
    replaced: dict[int, tuple[str, str]] = {}  # line number -> (placeholder, as written)
    lines = []
    for number, line in enumerate(written, start=1):
        match = _EXPLICIT_DERIVATIVE.match(line)
        if match:
            # NFKC-normalised, as ast normalises the name it parses.
            placeholder = unicodedata.normalize(
                "NFKC", _DERIVATIVE_PLACEHOLDER + (match["fraction"] or match["prime"])
            )
            replaced[number] = (placeholder, line[: match.end()])
            line = placeholder + line[match.end() :]
        lines.append(line)
    source = "\n".join(lines)
    try:
        module = ast.parse(source, mode="exec")
    except SyntaxError as error:
        lineno = error.lineno or 1
        text = (written or [""])[min(lineno, len(written) or 1) - 1].strip()
        raise ValueError(
            f"{locate(lineno)} '{text}': cannot parse: {error.msg}; equations have the forms "
            f"{EQUATION_FORMS}"
        ) from None
    equations = []
    for statement in module.body:
        text = ast.get_source_segment(source, statement) or ast.unparse(statement)
        location = locate(statement.lineno)
        if not isinstance(statement, ast.Assign):
            raise ValueError(f"{location} '{text}': not an equation; equations have the forms {EQUATION_FORMS}")
        if len(statement.targets) != 1 or not isinstance(statement.targets[0], ast.Name):
            raise ValueError(
                f"{location} '{text}': the left-hand side must be a single name; equations have "
                f"the forms {EQUATION_FORMS}"
            )
        lhs = statement.targets[0].id
        state = None
        if statement.lineno in replaced and lhs == replaced[statement.lineno][0]:
            placeholder, as_written = replaced[statement.lineno]
            text = as_written + text[len(placeholder) :]
            # ast has NFKC-normalised the name, as it does every name in the equations.
            state = placeholder[len(_DERIVATIVE_PLACEHOLDER) :]
            lhs = f"d{state}"
        equations.append(Equation(lhs, statement.value, text, location, state))
    return tuple(equations)


def rhs_to_sympy(equation: Equation, symbols: Mapping[str, sympy.Symbol]) -> sympy.Expr:
    """Build the SymPy expression of an equation's right-hand side.

    Parameters
    ----------
    equation : Equation
        The parsed equation.
    symbols : Mapping[str, sympy.Symbol]
        Every name the right-hand side may use.

    Returns
    -------
    sympy.Expr

    Raises
    ------
    ValueError
        On unknown names, unsupported syntax or functions, or a value that is
        not a finite real number (``1/0``, ``sqrt(-1)``).
    """
    expression = _Converter(equation, symbols).convert(equation.rhs)
    if expression.has(*_NON_REAL_VALUES):
        raise ValueError(
            f"{equation.describe()}: the right-hand side contains a non-real or "
            f"non-finite value ({expression}); expected a finite real value"
        )
    return expression


@attrs.frozen
class _Converter:
    """Walks one right-hand side, turning whitelisted nodes into SymPy."""

    equation: Equation
    symbols: Mapping[str, sympy.Symbol]

    def fail(self, message: str) -> ValueError:
        return ValueError(f"{self.equation.describe()}: {message}")

    def convert(self, node: ast.expr) -> sympy.Expr:
        match node:
            case ast.Constant(value=bool()):
                raise self.fail(f"unsupported constant {node.value!r}; expected a number")
            case ast.Constant(value=int()):
                return sympy.Integer(node.value)
            case ast.Constant(value=float()):
                # From a Python float SymPy keeps all 53 bits: no rounding here.
                return sympy.Float(node.value)
            case ast.Name():
                return self.name(node.id)
            case ast.BinOp(op=op) if type(op) in _BINARY_OPERATORS:
                return self.chain(node)
            case ast.UnaryOp(op=op) if type(op) in _UNARY_OPERATORS:
                return self.apply(_UNARY_OPERATORS[type(op)], (self.convert(node.operand),), node)
            case ast.BinOp() | ast.UnaryOp():
                raise self.fail(f"unsupported operator in '{ast.unparse(node)}'; allowed are + - * / ** "
                                "and unary + -")
            case ast.Call():
                return self.call(node)
            case ast.Compare():
                raise self.fail(
                    f"comparison '{ast.unparse(node)}' is only allowed as the condition "
                    f"of {IFELSE}(condition, value_if_true, value_if_false)"
                )
            case _:
                raise self.fail(
                    f"unsupported expression '{ast.unparse(node)}' "
                    f"({type(node).__name__}); allowed are numbers, names, + - * / **, "
                    f"and calls to {_ALLOWED_FUNCTIONS}"
                )

    def chain(self, node: ast.BinOp) -> sympy.Expr:
        """Convert a chain of binary operations without recursing along it.

        ``a + b + c + ...`` parses as ``((a + b) + c) + ...``: its depth is
        the number of terms, which recursion would limit (a sum of 1000
        terms exceeded Python's recursion limit).  The chain's left spine is
        walked in a loop; a run of ``+`` and ``-`` becomes one SymPy ``Add``
        (and a run of ``*`` one ``Mul``), so a long sum also costs one
        flattening instead of one per term.
        """
        spine = []
        while isinstance(node, ast.BinOp) and type(node.op) in _BINARY_OPERATORS:
            spine.append(node)
            node = node.left
        value = self.convert(node)
        run: list[sympy.Expr] = []  # terms (or factors) of the current run
        run_kind = None
        for link in reversed(spine):
            right = self.convert(link.right)
            kind = {ast.Add: sympy.Add, ast.Sub: sympy.Add, ast.Mult: sympy.Mul}.get(type(link.op))
            if kind is not None:
                if run_kind is not kind:
                    value = self.collect(run_kind, value, run, link)
                    run, run_kind = [], kind
                run.append(-right if isinstance(link.op, ast.Sub) else right)
                continue
            value = self.collect(run_kind, value, run, link)
            run, run_kind = [], None
            if isinstance(link.op, ast.Pow):
                self.check_exponent(value, right, link)
            value = self.apply(_BINARY_OPERATORS[type(link.op)], (value, right), link)
        return self.collect(run_kind, value, run, spine[0])

    def collect(self, kind, value: sympy.Expr, run: list, node: ast.expr) -> sympy.Expr:
        """Combine ``value`` with a run of terms (``kind`` Add) or factors (Mul)."""
        if not run:
            return value
        return self.apply(kind, (value, *run), node)

    def name(self, name: str) -> sympy.Symbol:
        if name in self.symbols:
            return self.symbols[name]
        if name in FUNCTIONS or name == IFELSE:
            raise self.fail(f"function '{name}' used without calling it; expected a call such as {name}(x)")
        close = difflib.get_close_matches(name, list(self.symbols), n=3)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        defined = sorted(self.symbols)
        listed = ", ".join(defined[:30]) + (f", ... ({len(defined)} in all)" if len(defined) > 30 else "")
        raise self.fail(f"unknown symbol '{name}'{hint} (the names defined are {listed})")

    def check_exponent(self, base: sympy.Expr, exponent: sympy.Expr, node: ast.expr) -> None:
        if base.is_Rational and exponent.is_Integer and abs(exponent) > _MAX_EXACT_EXPONENT:
            raise self.fail(f"exponent too large in '{ast.unparse(node)}'; expected at most "
                            f"{_MAX_EXACT_EXPONENT} in absolute value for a power of an exact number")

    def call(self, node: ast.Call) -> sympy.Expr:
        if not isinstance(node.func, ast.Name) or (
            node.func.id not in FUNCTIONS and node.func.id != IFELSE
        ):
            raise self.fail(
                f"unsupported function call '{ast.unparse(node)}'; "
                f"allowed functions are {_ALLOWED_FUNCTIONS}"
            )
        name = node.func.id
        if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
            raise self.fail(f"'{ast.unparse(node)}': only positional arguments are allowed")
        if name == IFELSE:
            return self.ifelse(node)
        function, arity = FUNCTIONS[name]
        count = len(node.args)
        if (arity is None and count < 2) or (arity is not None and count != arity):
            expected = "at least 2" if arity is None else str(arity)
            raise self.fail(
                f"'{ast.unparse(node)}': {name} takes {expected} argument(s), "
                f"got {len(node.args)}"
            )
        arguments = [self.convert(arg) for arg in node.args]
        if function is sympy.Pow:
            self.check_exponent(*arguments, node)
        return self.apply(function, arguments, node)

    def ifelse(self, node: ast.Call) -> sympy.Expr:
        if len(node.args) != 3:
            raise self.fail(
                f"'{ast.unparse(node)}': {IFELSE} takes 3 arguments "
                f"(condition, value_if_true, value_if_false), got {len(node.args)}"
            )
        condition, if_true, if_false = node.args
        arguments = (self.comparison(condition), self.convert(if_true), self.convert(if_false))
        return self.apply(IfElse, arguments, node)

    def comparison(self, node: ast.expr) -> sympy.Basic:
        if not (
            isinstance(node, ast.Compare)
            and len(node.ops) == 1
            and type(node.ops[0]) in _COMPARISONS
        ):
            raise self.fail(
                f"the condition '{ast.unparse(node)}' of {IFELSE} must be a single "
                f"comparison with <, <=, > or >="
            )
        left, right = self.convert(node.left), self.convert(node.comparators[0])
        return self.apply(_COMPARISONS[type(node.ops[0])], (left, right), node)

    def apply(self, function: Callable, arguments: Sequence, node: ast.expr) -> sympy.Basic:
        """Call a SymPy constructor, reporting its refusals against the equation.

        A number that SymPy knows is complex (``(-8)**(1/3)`` is
        ``2*(-1)**(1/3)``) is refused here, where the text that made it is
        at hand.
        """
        try:
            result = function(*arguments)
        except (TypeError, ValueError) as error:  # e.g. ordering a non-real value
            raise self.fail(f"cannot evaluate '{ast.unparse(node)}': {error}") from None
        if (
            isinstance(result, sympy.Expr)
            and result.is_number
            and result.is_finite
            and result.is_extended_real is False
        ):
            hint = (
                " (a negative number to a fractional power is complex; for a real root write "
                "-(8**(1/3)) rather than (-8)**(1/3))"
                if function in (operator.pow, sympy.Pow)
                else ""
            )
            raise self.fail(
                f"'{ast.unparse(node)}' is the complex number {result}; expected a real value{hint}"
            )
        return result
