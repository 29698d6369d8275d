"""Turn equation text into SymPy expressions without evaluating it.

User text is never passed to ``eval``, ``exec`` or SymPy's own parser (which
evaluates).  Each equation is parsed with :mod:`ast` and the syntax tree is
walked node by node; only whitelisted node types are turned into SymPy
objects, everything else is rejected with a message quoting the equation.
"""

import ast
import difflib
import operator
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

# Names users may not define: time, and the function names (the generated
# code calls ``abs``, ``min`` and ``max`` as builtins, which a local of the
# same name would shadow).
RESERVED_NAMES = frozenset(FUNCTIONS) | {IFELSE, TIME}

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
        The assigned name, e.g. ``"dx"``.
    rhs : ast.expr
        The unevaluated syntax tree of the right-hand side.
    text : str
        The equation as written, for error messages.
    location : str
        ``"line N"`` or ``"equation N"``, for error messages.
    """

    lhs: str
    rhs: ast.expr = attrs.field(eq=False)
    text: str
    location: str

    def describe(self) -> str:
        """Return the location and quoted text, to start error messages."""
        return f"{self.location} '{self.text}'"


def parse_equations(equations: str | Sequence[str]) -> tuple[Equation, ...]:
    """Split equations into syntax trees, checking only their form.

    Parameters
    ----------
    equations : str or sequence of str
        One string with one equation per line (blank lines and ``#``
        comments allowed), or a list of equation strings.

    Returns
    -------
    tuple of Equation
        In the order written.

    Raises
    ------
    ValueError
        If some text does not parse or is not of the form ``name = expression``.
    """
    if isinstance(equations, str):
        return _parse_block(equations, lambda line: f"line {line}")
    if not isinstance(equations, Sequence) or not all(isinstance(e, str) for e in equations):
        raise TypeError("equations must be a string or a sequence of strings")
    parsed: list[Equation] = []
    for index, text in enumerate(equations, start=1):
        parsed.extend(_parse_block(text, lambda _line, i=index: f"equation {i}"))
    return tuple(parsed)


def _parse_block(source: str, locate: Callable[[int], str]) -> tuple[Equation, ...]:
    # Equations have no indented blocks, so leading whitespace only gets in
    # the way (e.g. in a triple-quoted string starting on the first line).
    source = "\n".join(line.lstrip() for line in source.splitlines())
    try:
        module = ast.parse(source, mode="exec")
    except SyntaxError as error:
        lineno = error.lineno or 1
        lines = source.splitlines() or [""]
        text = lines[min(lineno, len(lines)) - 1].strip()
        raise ValueError(f"{locate(lineno)} '{text}': cannot parse: {error.msg}") from None
    equations = []
    for statement in module.body:
        text = ast.get_source_segment(source, statement) or ast.unparse(statement)
        location = locate(statement.lineno)
        if not isinstance(statement, ast.Assign):
            raise ValueError(
                f"{location} '{text}': not an equation of the form 'name = expression'"
            )
        if len(statement.targets) != 1 or not isinstance(statement.targets[0], ast.Name):
            raise ValueError(f"{location} '{text}': the left-hand side must be a single name")
        equations.append(Equation(statement.targets[0].id, statement.value, text, location))
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
            f"non-finite value ({expression})"
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
                raise self.fail(f"unsupported constant {node.value!r}")
            case ast.Constant(value=int()):
                return sympy.Integer(node.value)
            case ast.Constant(value=float()):
                # From a Python float SymPy keeps all 53 bits: no rounding here.
                return sympy.Float(node.value)
            case ast.Name():
                return self.name(node.id)
            case ast.BinOp(op=op) if type(op) in _BINARY_OPERATORS:
                left, right = self.convert(node.left), self.convert(node.right)
                if isinstance(op, ast.Pow):
                    self.check_exponent(left, right, node)
                return self.apply(_BINARY_OPERATORS[type(op)], (left, right), node)
            case ast.UnaryOp(op=op) if type(op) in _UNARY_OPERATORS:
                return self.apply(_UNARY_OPERATORS[type(op)], (self.convert(node.operand),), node)
            case ast.BinOp() | ast.UnaryOp():
                raise self.fail(f"unsupported operator in '{ast.unparse(node)}'")
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

    def name(self, name: str) -> sympy.Symbol:
        if name in self.symbols:
            return self.symbols[name]
        if name in FUNCTIONS or name == IFELSE:
            raise self.fail(f"function '{name}' used without calling it")
        close = difflib.get_close_matches(name, list(self.symbols), n=3)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise self.fail(f"unknown symbol '{name}'{hint}")

    def check_exponent(self, base: sympy.Expr, exponent: sympy.Expr, node: ast.expr) -> None:
        if base.is_Rational and exponent.is_Integer and abs(exponent) > _MAX_EXACT_EXPONENT:
            raise self.fail(f"exponent too large in '{ast.unparse(node)}'")

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
        """Call a SymPy constructor, reporting its refusals against the equation."""
        try:
            return function(*arguments)
        except (TypeError, ValueError) as error:  # e.g. ordering a non-real value
            raise self.fail(f"cannot evaluate '{ast.unparse(node)}': {error}") from None
