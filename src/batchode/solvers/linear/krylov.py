"""Matrix-free Krylov solvers: restarted GMRES and a minimal-residual iteration.

Both only apply ``M v = v - alpha J v`` through the system's Jacobian-vector
product, so memory grows with n (GMRES: (restart + 1) n for the basis), not
n^2. ``prepare`` stores the linearisation point and ``alpha`` in the
solver's LOCAL_PERSISTENT buffers.

GMRES(m): Saad & Schultz, SIAM J. Sci. Stat. Comput. 7 (1986) 856-869, with
modified Gram-Schmidt and Givens rotations (Saad, Iterative Methods for
Sparse Linear Systems, 2nd ed., algorithm 6.9). The minimal-residual
iteration takes ``x += (r.Mr / Mr.Mr) r``, which minimises the residual along
``r`` (Saad, section 5.3.2); it converges when the symmetric part of ``M`` is
positive definite, as for ``I - alpha J`` with small ``alpha``.
"""

from __future__ import annotations

import math

import attrs

from batchode.solvers.linear.base import LinearSolver, LinearSolverBuild
from batchode.status import Status


@attrs.frozen
class KrylovSettings:
    """Relative residual tolerance and iteration limits.

    Attributes
    ----------
    tolerance : float
        Stop when ``||rhs - M x|| <= tolerance * ||rhs||``.
    restart : int
        GMRES basis size before a restart (ignored by minimal residual).
    max_iterations : int
        Total iterations (matrix-vector products) allowed per solve.
    """

    tolerance: float = attrs.field(default=1e-8, validator=attrs.validators.gt(0))
    restart: int = attrs.field(default=10, validator=attrs.validators.ge(1))
    max_iterations: int = attrs.field(default=100, validator=attrs.validators.ge(1))


class _MatrixFree(LinearSolver):
    """Shared set-up: the stored linearisation point and the operator."""

    Settings = KrylovSettings

    def __init__(self, system_factory, **kwargs):
        super().__init__(system_factory, **kwargs)
        n = self.n
        self.register_buffer("point", "local_persistent", n + 2)  # y, then t and alpha
        self.register_buffer("jvp_work", "local", 2 * n)

    def build_operator(self):
        """``(prepare, apply)``: store the point; ``out = v - alpha J v``."""
        n = self.n
        jvp = self.system_factory.jvp_function
        buffers = self.buffer_registry.buffers
        alloc_point, alloc_work = buffers["point"].allocate(), buffers["jvp_work"].allocate()

        def prepare(t, y, p, alpha, shared, persistent):
            point = alloc_point(shared, persistent)
            for j in range(n):
                point[j] = y[j]
            point[n] = t
            point[n + 1] = alpha
            return 0

        def apply(v, out, p, shared, persistent):
            point = alloc_point(shared, persistent)
            work = alloc_work(shared, persistent)
            jvp(point[n], point, p, v, out, work)
            alpha = point[n + 1]
            for j in range(n):
                out[j] = v[j] - alpha * out[j]

        device = self.backend.device_function
        return device(prepare), device(apply)


class GMRES(_MatrixFree):
    """Restarted GMRES. Buffers (LOCAL): ``basis`` ((restart+1) n),
    ``hessenberg`` ((restart+1) restart), ``rotations`` (2 restart),
    ``projected`` (restart+1)."""

    def __init__(self, system_factory, **kwargs):
        super().__init__(system_factory, **kwargs)
        n, m = self.n, lambda: self.settings.restart
        self.register_buffer("basis", "local", lambda: (m() + 1) * n)
        self.register_buffer("hessenberg", "local", lambda: (m() + 1) * m())
        self.register_buffer("rotations", "local", lambda: 2 * m())
        self.register_buffer("projected", "local", lambda: m() + 1)

    def build(self) -> LinearSolverBuild:
        n, m = self.n, self.settings.restart
        max_iterations = self.settings.max_iterations
        dtype = self.precision.type
        zero, one, tolerance = dtype(0.0), dtype(1.0), dtype(self.settings.tolerance)
        failed = int(Status.LINEAR_SOLVER_FAILED)
        prepare, apply = self.build_operator()
        buffers = self.buffer_registry.buffers
        alloc_basis, alloc_h = buffers["basis"].allocate(), buffers["hessenberg"].allocate()
        alloc_rot, alloc_g = buffers["rotations"].allocate(), buffers["projected"].allocate()

        def solve(rhs, x, p, shared, persistent):
            basis = alloc_basis(shared, persistent)
            h = alloc_h(shared, persistent)
            rotations = alloc_rot(shared, persistent)
            g = alloc_g(shared, persistent)
            rhs_norm = zero
            for j in range(n):
                x[j] = zero
                rhs_norm += rhs[j] * rhs[j]
            rhs_norm = math.sqrt(rhs_norm)
            if rhs_norm == zero:
                return 0, 0
            target = tolerance * rhs_norm
            iterations = 0
            while iterations < max_iterations:
                # residual r = rhs - M x into the first basis vector
                apply(x, basis, p, shared, persistent)
                beta = zero
                for j in range(n):
                    basis[j] = rhs[j] - basis[j]
                    beta += basis[j] * basis[j]
                beta = math.sqrt(beta)
                if beta <= target:
                    return 0, iterations
                for j in range(n):
                    basis[j] /= beta
                for i in range(m + 1):
                    g[i] = zero
                g[0] = beta
                size = 0
                for k in range(m):
                    column = basis[(k + 1) * n:(k + 2) * n]
                    apply(basis[k * n:(k + 1) * n], column, p, shared, persistent)
                    iterations += 1
                    for i in range(k + 1):
                        dot = zero
                        for j in range(n):
                            dot += column[j] * basis[i * n + j]
                        h[i * m + k] = dot
                        for j in range(n):
                            column[j] -= dot * basis[i * n + j]
                    norm = zero
                    for j in range(n):
                        norm += column[j] * column[j]
                    norm = math.sqrt(norm)
                    h[(k + 1) * m + k] = norm
                    if norm > zero:
                        for j in range(n):
                            column[j] /= norm
                    for i in range(k):  # earlier rotations act on the new column
                        c, s = rotations[2 * i], rotations[2 * i + 1]
                        upper, lower = h[i * m + k], h[(i + 1) * m + k]
                        h[i * m + k] = c * upper + s * lower
                        h[(i + 1) * m + k] = -s * upper + c * lower
                    upper, lower = h[k * m + k], h[(k + 1) * m + k]
                    radius = math.sqrt(upper * upper + lower * lower)
                    c = one if radius == zero else upper / radius
                    s = zero if radius == zero else lower / radius
                    rotations[2 * k], rotations[2 * k + 1] = c, s
                    h[k * m + k] = radius
                    h[(k + 1) * m + k] = zero
                    g[k + 1] = -s * g[k]
                    g[k] = c * g[k]
                    size = k + 1
                    if abs(g[k + 1]) <= target or norm == zero or iterations >= max_iterations:
                        break
                for i in range(size - 1, -1, -1):  # back substitution into g
                    for l in range(i + 1, size):
                        g[i] -= h[i * m + l] * g[l]
                    g[i] /= h[i * m + i]
                for i in range(size):
                    for j in range(n):
                        x[j] += g[i] * basis[i * n + j]
            apply(x, basis, p, shared, persistent)
            residual = zero
            for j in range(n):
                residual += (rhs[j] - basis[j]) * (rhs[j] - basis[j])
            if math.sqrt(residual) <= target:
                return 0, iterations
            return failed, iterations

        return LinearSolverBuild(prepare, self.backend.device_function(solve, inline=False))


class MinimalResidual(_MatrixFree):
    """Minimal-residual iteration. Buffers (LOCAL): ``residual``, ``image`` (n each)."""

    def __init__(self, system_factory, **kwargs):
        super().__init__(system_factory, **kwargs)
        self.register_buffer("residual", "local", self.n)
        self.register_buffer("image", "local", self.n)

    def build(self) -> LinearSolverBuild:
        n = self.n
        max_iterations = self.settings.max_iterations
        dtype = self.precision.type
        zero, tolerance = dtype(0.0), dtype(self.settings.tolerance)
        failed = int(Status.LINEAR_SOLVER_FAILED)
        prepare, apply = self.build_operator()
        buffers = self.buffer_registry.buffers
        alloc_r, alloc_image = buffers["residual"].allocate(), buffers["image"].allocate()

        def solve(rhs, x, p, shared, persistent):
            r = alloc_r(shared, persistent)
            image = alloc_image(shared, persistent)
            rhs_norm = zero
            for j in range(n):
                x[j] = zero
                r[j] = rhs[j]
                rhs_norm += rhs[j] * rhs[j]
            target = tolerance * tolerance * rhs_norm
            residual = rhs_norm
            iterations = 0
            while residual > target and iterations < max_iterations:
                apply(r, image, p, shared, persistent)
                iterations += 1
                numerator, denominator = zero, zero
                for j in range(n):
                    numerator += r[j] * image[j]
                    denominator += image[j] * image[j]
                if denominator == zero:
                    return failed, iterations
                step = numerator / denominator
                residual = zero
                for j in range(n):
                    x[j] += step * r[j]
                    r[j] -= step * image[j]
                    residual += r[j] * r[j]
            return (0 if residual <= target else failed), iterations

        return LinearSolverBuild(prepare, self.backend.device_function(solve, inline=False))
