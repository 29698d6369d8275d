"""Helpers that write the Python source of Runge-Kutta steps from tableau data.

Coefficients become named constants of the working precision (so float32
code stays float32) and zero coefficients are left out of every sum, so the
generated step does the arithmetic a hand-written one would.
"""

from __future__ import annotations

from batchode.counters import Counter

#: The work counters steps add to, as generated code names them.
NEWTON_COUNTER = f"counters[{int(Counter.NEWTON_ITERATIONS)}]"
LINEAR_COUNTER = f"counters[{int(Counter.LINEAR_ITERATIONS)}]"

class StepSource:
    """Collects the lines and constants of one generated step function."""

    def __init__(self, precision):
        self.dtype = precision.type
        self.constants = {"zero": self.dtype(0.0)}
        self.lines: list[str] = []

    def constant(self, name: str, value: float) -> str | None:
        """Register ``name = value``; return the name, or None for a zero."""
        if value == 0.0:
            return None
        self.constants[name] = self.dtype(value)
        return name

    def weights(self, prefix: str, values) -> list[str | None]:
        """Constants ``<prefix>_<r>`` for a row of coefficients."""
        return [self.constant(f"{prefix}_{r}", value) for r, value in enumerate(values)]

    def polynomial(self, prefix: str, coefficients, variable: str = "s") -> str | None:
        """Source of ``sum_m coefficients[m] * variable**m`` by Horner's rule, or None when all are zero.

        Coefficients become constants ``<prefix>_<m>`` like :meth:`weights`.
        """
        names = self.weights(prefix, coefficients)
        if all(name is None for name in names):
            return None
        source = names[-1] or "zero"
        for name in reversed(names[:-1]):
            source = f"({name or 'zero'} + {variable} * {source})"
        return source

    @staticmethod
    def combination(weights, stages, index: str = "j") -> str:
        """Source of ``sum_r weights[r] * stages[r][index]``, zero terms left out."""
        terms = [f"{w} * {stage}[{index}]" for w, stage in zip(weights, stages) if w is not None]
        return " + ".join(terms) if terms else "zero"

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def add_solution_and_error(self, tableau, n: int, compute_error: bool) -> None:
        """Lines forming ``y_new`` (weights b) and, if asked, ``error`` (b - b_hat)."""
        stages = [f"k_{r}" for r in range(tableau.stages)]
        solution = self.weights("b", tableau.b)
        self.add(f"    for j in range({n}):",
                 f"        y_new[j] = y[j] + dt * ({self.combination(solution, stages)})")
        if compute_error:
            errors = self.weights("e", tableau.error_weights)
            self.add(f"        error[j] = dt * ({self.combination(errors, stages)})")

    def compile(self, name: str, namespace: dict, label: str):
        """Execute the generated source (from tableau data, never user text)."""
        source = "\n".join(self.lines) + "\n"
        scope = dict(self.constants)
        scope.update(namespace)
        exec(compile(source, f"<{label}>", "exec"), scope)
        return scope[name], source
