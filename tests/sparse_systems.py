"""Linear test systems with a chosen Jacobian sparsity pattern, for the sparse LU tests."""

import batchode


def linear_system(n: int, pattern) -> batchode.ODESystem:
    """``dy/dt = J y`` whose Jacobian has non-zeros ``pattern``, entry ``(i, j)`` the parameter ``a_i_j``."""
    lines = []
    for i in range(n):
        terms = [f"a_{i}_{j}*y{j}" for row, j in pattern if row == i]
        lines.append(f"dy{i} = {' + '.join(terms) or '0'}")
    return batchode.ODESystem.from_equations("\n".join(lines), parameters=[f"a_{i}_{j}" for i, j in pattern],
                                             initial_state={f"y{i}": 0.0 for i in range(n)})


def random_pattern(rng, n: int, per_row: int):
    """``per_row`` random columns in each row, sorted row-major: some rows miss their diagonal."""
    return tuple(sorted({(i, int(j)) for i in range(n) for j in rng.choice(n, per_row, replace=False)}))
