"""Fully implicit Runge-Kutta engine (Radau IIA, Gauss-Legendre, any FIRK tableau).

Keeps the step contract of :mod:`batchode.algorithms.erk`. All ``s`` stages
are one coupled system for the stage increments ``z_i = Y_i - y``::

    z_i = dt sum_j a_ij f(t + c_j dt, y + z_j),        i = 1..s,

of size ``s n``, solved by the simplified Newton iteration of Hairer &
Wanner, Solving ODEs II, section IV.8, in the transformed form of their
code RADAU5: the Jacobian ``J = df/dy(t, y)`` is evaluated once per step,
and with the real block diagonalisation ``T^-1 A^-1 T = Lambda`` of the
stage matrix (:mod:`batchode.algorithms.tableaus.transformation`: one
entry ``gamma`` per real eigenvalue of ``A^-1``, one block
``[[alpha, -beta], [beta, alpha]]`` per complex pair) the iteration runs in
``W = (T^-1 kron I) Z``::

    (Lambda kron I - dt I kron J) dW = -(Lambda kron I) W + dt (T^-1 kron I) F((T kron I) W),
    W += dW.

This is HW's iteration multiplied by ``dt`` (so no ``1/dt`` appears in the
matrices), and the same simplified Newton iteration as the coupled one with
``I - dt (A kron J)``, only cheaper: the matrix is block diagonal, one real
``n x n`` system ``gamma I - dt J`` per real eigenvalue (child
``real_lu_<k>``) and one complex ``n x n`` system
``(alpha + i beta) I - dt J`` per pair (child ``complex_lu_<k>``), which is
the real ``2n x 2n`` system::

    [[alpha I - dt J, -beta I        ],   [dW_p]
     [beta I,          alpha I - dt J]] . [dW_q]

for the pair's two components of ``W``. For ``radau-iia-5`` that is a real
and a complex LU of size n (RADAU5's ``E1`` and ``E2``) in place of a real
LU of size ``3n``. The step evaluates ``J`` once and hands it to its
blocks as one group (the block group contract of
:mod:`batchode.solvers.linear.base`: one ``prepare`` per step and one
``solve`` per iteration for all of them, which lets the sparse LU run the
blocks in lockstep); each block's own LU child forms its matrix,
factorises it and owns its buffers: a ``DenseBlockLU`` (``linear_solver="dense"``,
``J`` with all its entries) or a ``SparseBlockLU``
(``linear_solver="sparse"``, an equation system's Jacobian non-zeros, the
fill-in fixed when the step is built, so a banded or otherwise sparse
system pays for its non-zeros, not for ``n^3``). The complex block
uses the same LU routine with complex entries stored as real parts, then
imaginary parts (``complex_entries=True``) rather than the real ``2n``
form: half the flops (on the CPU a 3-state complex factorisation and solve
measured 51 ns against 190 ns for the real 6 x 6 form), and its buffers
stay in the real, typed pools, so they move between LOCAL_PERSISTENT and
SHARED like any other (numba's complex types could not, and would widen
float32 work to complex128). The vector ``[dW_p; dW_q]`` is already in that
layout. Tableaus whose ``A`` is singular or not diagonalisable are refused.

1. Starting guess (RADAU5's default): after an accepted step, the
   polynomial of degree s through ``(0, 0)`` and ``(c_i, z_i)`` of that step
   (the collocation polynomial, for Radau and Gauss methods) is extrapolated
   to the new stage times, ``z_i = q(1 + c_i dt / dt_old) - q(1)``, and
   transformed, ``W = (T^-1 kron I) Z``; at the start and after a rejection
   ``W = 0``. The previous step's increments ``Z`` and size are kept in the
   LOCAL_PERSISTENT ``previous_increments`` and ``step_history``. Tableaus
   whose nodes are not distinct and nonzero always start from 0.
2. Convergence (RADAU5's test): with the contraction estimate
   ``theta = ||dZ_k|| / ||dZ_{k-1}||`` and ``eta = theta / (1 - theta)``,
   the iteration stops when ``eta ||dZ_k|| <= tolerance``. The norm is the
   weighted RMS over all ``s n`` components of ``dZ = (T kron I) dW`` (so
   it does not depend on how ``T`` is scaled, and ``newton_tolerance``
   keeps its meaning from the untransformed iteration) with weights
   ``atol + |y| rtol`` (the step's start state, as in RADAU5), and
   ``tolerance`` is ``newton_tolerance`` with the floor of
   :func:`convergence_tolerance`. The first iteration uses the last
   accepted step's ``eta`` to the power 0.8 (kept in ``step_history``), or
   1 after a rejection or at the start, so a step whose first update is
   tiny can stop after one iteration.
3. ``theta >= 0.99`` (divergence), a non-finite update, or
   ``newton_max_iterations`` iterations without convergence return
   ``Status.NEWTON_FAILED``; a singular block matrix returns the LU's
   ``Status.LINEAR_SOLVER_FAILED``. ``y`` is untouched and the loop
   retries a smaller step.
4. ``y_new = y + sum_i d_i z_i`` with ``d = b^T A^-1`` (``d = e_s`` for a
   stiffly accurate tableau), formed from ``W`` with the weights ``d^T T``;
   no further evaluation of f.
5. Error estimate (``compute_error``): for a tableau with a
   :class:`~batchode.algorithms.tableaus.radau.FilteredErrorEstimate`
   (``radau-iia-5``), RADAU5's filtered estimate (HW II, IV.8, eqs.
   (8.19)-(8.20))::

       error = (I - dt gamma0 J)^-1 gamma0 (dt f(t, y) + sum_i e_i z_i)
             = (gamma I - dt J)^-1 (dt f(t, y) + sum_i e_i z_i),

   as ``gamma0`` is a real eigenvalue of ``A`` (checked by the estimate),
   ``gamma = 1 / gamma0`` is one of ``A^-1`` and the filter reuses that
   block's LU, as RADAU5 does. The filter keeps the estimate of stiff
   components bounded. On the first step and after a rejection
   (``fsal_valid`` false), an estimate whose norm (the controllers',
   :func:`~batchode.control.base.weighted_rms_norm`, with the step's
   tolerances) exceeds 1 is refined once, as RADAU5's ESTRAD does::

       error = (gamma I - dt J)^-1 (dt f(t, y + error) + sum_i e_i z_i).

   A tableau with embedded weights ``b_hat`` gets
   ``error = sum_i w_i z_i`` with ``w = (b - b_hat)^T A^-1``.

Work counters (:class:`batchode.counters.Counter`): every iteration adds
one Newton iteration and one linear solve (one direct solve of the stage
system, block by block); the error filter adds one solve, and its
refinement one more.
"""

from __future__ import annotations

import math

import attrs
import numpy as np

from batchode.algorithms.base import RungeKuttaSettings, RungeKuttaStep
from batchode.algorithms.interpolation import InterpolantBuild, InterpolatingStep, nothing_to_prepare
from batchode.algorithms.source import LINEAR_COUNTER, NEWTON_COUNTER, StepSource
from batchode.algorithms.tableaus import filtered_error_estimate
from batchode.algorithms.tableaus.transformation import stage_transformation
from batchode.control.base import tolerance_tuple, tolerance_values, weighted_rms_norm
from batchode.factory import runtime_setting
from batchode.solvers.linear import BLOCK_SOLVERS
from batchode.solvers.linear.base import BlockMember
from batchode.solvers.newton import convergence_tolerance
from batchode.status import Status

#: Contraction rate at which the simplified Newton iteration is declared
#: divergent (RADAU5 rejects the step when theta >= 0.99).
DIVERGENCE_RATE = 0.99

#: RADAU5's carry-over of the contraction estimate from the last step:
#: ``eta_0 = max(eta_old, eps) ** 0.8``.
RATE_MEMORY_EXPONENT = 0.8

#: Prefixes of the block LU children: ``real_lu_<k>`` and ``complex_lu_<k>`` (n x n, real or complex).
BLOCK_PREFIXES = ("real_lu_", "complex_lu_")


def _transformable_firk(tableau) -> bool:
    return getattr(tableau, "family", None) == "firk" and stage_transformation(tableau.a) is not None


@attrs.frozen
class FIRKSettings(RungeKuttaSettings):
    """Settings of a fully implicit Runge-Kutta step (see ``RungeKuttaSettings``).

    ``rtol``, ``atol``, ``newton_tolerance`` and ``newton_max_iterations``
    are run-time settings.

    Attributes
    ----------
    rtol, atol : tuple of float
        The step's tolerances, which weight the convergence test.
    newton_tolerance : float
        Converged when ``eta`` times the weighted RMS of the update is below it.
    newton_max_iterations : int
        Simplified Newton iterations allowed per step.
    dense_output : bool
        Serve the loop's saves and events from the step's collocation
        polynomial (through ``(0, 0)`` and ``(c_i, z_i)``, the polynomial
        the predictor extrapolates; RADAU5's dense output); ignored for a
        tableau whose nodes are not distinct and nonzero.
    """

    rtol: tuple = runtime_setting(default=(1e-6,), converter=tolerance_tuple)
    atol: tuple = runtime_setting(default=(1e-6,), converter=tolerance_tuple)
    newton_tolerance: float = runtime_setting(default=1e-2, validator=attrs.validators.gt(0))
    newton_max_iterations: int = runtime_setting(default=10, validator=attrs.validators.ge(1))
    dense_output: bool = False

    accepts = (staticmethod(_transformable_firk), "fully implicit with an invertible, diagonalisable stage matrix")

    def __attrs_post_init__(self):
        super().__attrs_post_init__()
        for name in ("rtol", "atol"):
            value = getattr(self, name)
            if len(value) not in (1, self.n_states):
                raise ValueError(f"{name} has {len(value)} entries; expected 1 or n_states={self.n_states}")


@attrs.frozen
class _Block:
    """One diagonal block of the transformed Newton matrix: child ``name``
    solves for the ``width`` (1 or 2) components of ``W`` from ``first``."""

    name: str
    first: int
    width: int


class FIRKStep(RungeKuttaStep):
    """Factory of a fully implicit Runge-Kutta step; children ``system`` and
    one block LU (:data:`BLOCK_SOLVERS`: ``linear_solver`` "dense" or
    "sparse") per block of the transformed Newton matrix:
    ``real_lu_<k>`` (size n) per real eigenvalue of ``A^-1`` and
    ``complex_lu_<k>`` (size n, complex entries) per complex pair. A child
    that an earlier tableau needed and the current one does not keeps size
    0 (no buffers).

    Buffers (LOCAL unless noted): ``transformed_increments`` (``W``),
    ``stage_derivatives`` and ``newton_update`` (s n each), ``stage_state``
    (n), ``jacobian`` (n n, or the non-zeros for the sparse blocks),
    ``jacobian_work`` (2n, finite-difference Jacobians, dense blocks only);
    LOCAL_PERSISTENT: ``step_history`` (2: the last ``eta`` and step size)
    and ``previous_increments`` (s n, only when the predictor applies).
    """

    Settings = FIRKSettings

    def __init__(self, system_factory, linear_solver: str = "dense", **kwargs):
        if linear_solver not in BLOCK_SOLVERS:
            raise ValueError(f"linear_solver={linear_solver!r} for a fully implicit step; "
                             f"expected one of {sorted(BLOCK_SOLVERS)}")
        self.linear_solver = linear_solver  # first: the base's __init__ checks the settings
        super().__init__(system_factory, **kwargs)
        self._update_blocks()
        n = lambda: self.settings.n_states  # noqa: E731 - sizes follow the settings
        stages = lambda: self.settings.tableau.stages * n()  # noqa: E731
        for name in ("transformed_increments", "stage_derivatives", "newton_update"):
            self.register_buffer(name, "local", stages)
        self.register_buffer("stage_state", "local", n)
        # J in the blocks' form: all n^2 entries (dense), or the non-zeros (sparse).
        self.register_buffer("jacobian", "local", lambda: self.child(self.blocks[0].name).jacobian_entries)
        self.register_buffer("jacobian_work", "local", lambda: 2 * n(),
                             enabled=lambda: self.linear_solver == "dense")
        self.register_buffer("step_history", "local_persistent", 2)
        self.register_buffer("previous_increments", "local_persistent", stages, enabled=lambda: self.predicts)

    @property
    def predicts(self) -> bool:
        """Whether steps start from the extrapolated previous stages (distinct, nonzero nodes)."""
        nodes = (0.0, *self.tableau.c)
        return len(set(nodes)) == len(nodes)

    @property
    def interpolates(self) -> bool:
        """True when the step serves its collocation polynomial as the loop's interpolant."""
        return self.settings.dense_output and self.predicts

    @property
    def newton_cap_offset(self) -> int:
        """Offset of ``newton_max_iterations`` in the step's run-time block (the cap on a step's iterations)."""
        return self.runtime_offset("max_iterations")

    @property
    def error_estimate(self):
        """The tableau's filtered error estimate, or None."""
        return filtered_error_estimate(self.tableau)

    @property
    def transformation(self):
        """The tableau's :class:`~batchode.algorithms.tableaus.transformation.StageTransformation`."""
        return stage_transformation(self.tableau.a)

    @property
    def blocks(self) -> tuple[_Block, ...]:
        """The diagonal blocks of the transformed Newton matrix, in the column order of ``T``."""
        transformation = self.transformation
        real = len(transformation.real)
        return (*(_Block(f"real_lu_{k}", k, 1) for k in range(real)),
                *(_Block(f"complex_lu_{k}", real + 2 * k, 2) for k in range(len(transformation.pairs))))

    def _update_blocks(self) -> set[str]:
        """Size the block LU children for the current tableau, adding the missing ones."""
        n = self.settings.n_states
        sizes = {name: 0 for name in self.children if name.startswith(BLOCK_PREFIXES)}
        sizes.update({block.name: n for block in self.blocks})
        changed = set()
        for name, size in sizes.items():
            if name in self.children:
                changed |= {f"{name}_{key}" for key in self.child(name).update(size=size)}
            else:
                self.add_child(name, self._block_lu(size, complex_entries=name.startswith("complex")))
                changed.add(f"{name}_size")
        return changed

    def _block_lu(self, size: int, complex_entries: bool):
        """A block LU child of ``self.linear_solver``'s kind."""
        if self.linear_solver == "sparse":
            return BLOCK_SOLVERS["sparse"](self.child("system"), size=size, complex_entries=complex_entries)
        return BLOCK_SOLVERS["dense"](size=size, complex_entries=complex_entries, precision=self.precision,
                                      backend=self.backend.name)

    def update(self, **changes) -> set[str]:
        """As :meth:`CUDAFactory.update`; the block LU children follow the tableau and ``n_states``."""
        return super().update(**changes) | self._update_blocks()

    def _source(self) -> StepSource:
        tableau, settings = self.tableau, self.settings
        s, n = tableau.stages, settings.n_states
        m = s * n
        transformation = self.transformation
        transform, lam = np.array(transformation.transform), transformation.block_matrix
        code = StepSource(self.precision)
        transformed = [f"w_{r}" for r in range(s)]
        derivatives = [f"f_{r}" for r in range(s)]
        rows = [code.weights(f"t_{r}", transform[r]) for r in range(s)]
        inverse_rows = [code.weights(f"ti_{r}", transformation.inverse[r]) for r in range(s)]
        code.add(
            "def step(t, dt, y, p, y_new, error, fsal_valid, accepted, counters, settings, shared, persistent):",
            "    tolerance = dtype(settings[tolerance_at])",
            "    max_iterations = int(settings[max_iterations_at])",
            "    w = alloc_transformed_increments(shared, persistent)",
            "    f = alloc_stage_derivatives(shared, persistent)",
            "    delta = alloc_newton_update(shared, persistent)",
            "    state = alloc_stage_state(shared, persistent)",
            "    jac = alloc_jacobian(shared, persistent)",
            "    work = alloc_jacobian_work(shared, persistent)",
            "    history = alloc_step_history(shared, persistent)",
            "    old = alloc_previous_increments(shared, persistent)",
            *[f"    w_{r} = w[{r * n}:{(r + 1) * n}]" for r in range(s)],
            *[f"    f_{r} = f[{r * n}:{(r + 1) * n}]" for r in range(s)],
            *[f"    delta_{r} = delta[{r * n}:{(r + 1) * n}]" for r in range(s)],
            "    jacobian(t, y, p, jac, work)" if self.linear_solver == "dense" else "    jacobian(t, y, p, jac)",
        )
        code.add("    status = blocks_prepare(jac, dt, shared, persistent)",
                 "    if status != 0:",
                 "        return status")
        code.add(f"    for j in range({m}):",
                 "        w[j] = zero",
                 "    eta = one",
                 "    if fsal_valid:",
                 "        eta = max(history[0], eps) ** memory")
        if self.predicts:
            self._add_prediction(code)
            code.add(f"        for j in range({n}):",
                     *[f"            w_{r}[j] = {code.combination(inverse_rows[r], derivatives)}" for r in range(s)])
        self._add_iteration(code, rows, inverse_rows, lam)
        if self.predicts:
            code.add(f"    for j in range({n}):",
                     *[f"        old[{r * n} + j] = {code.combination(rows[r], transformed)}" for r in range(s)])
        solution = code.weights("d", np.array(self._solution_weights()) @ transform)
        code.add(f"    for j in range({n}):",
                 f"        y_new[j] = y[j] + {code.combination(solution, transformed)}")
        if settings.compute_error:
            self._add_error(code, transformed, transform)
        code.add("    return 0")
        return code

    def _add_iteration(self, code: StepSource, rows, inverse_rows, lam: np.ndarray) -> None:
        """Lines of the simplified Newton iteration on the transformed increments, until it converges."""
        tableau, n = self.tableau, self.settings.n_states
        s, m = tableau.stages, tableau.stages * n
        transformed = [f"w_{r}" for r in range(s)]
        derivatives = [f"f_{r}" for r in range(s)]
        updates = [f"delta_{r}" for r in range(s)]
        code.add("    previous = zero",
                 "    converged = False",
                 "    for iteration in range(max_iterations):")
        for r in range(s):
            time = code.constant(f"c_{r}", tableau.c[r])
            code.add(f"        for j in range({n}):",
                     f"            state[j] = y[j] + {code.combination(rows[r], transformed)}",
                     f"        dxdt(t + {time} * dt, state, p, f_{r})" if time else f"        dxdt(t, state, p, f_{r})")
        # dW = -Lambda W + dt T^-1 F, then each block solves for its components in place.
        code.add(f"        for j in range({n}):")
        for r in range(s):
            diagonal = code.combination(code.weights(f"lam_{r}", lam[r]), transformed)
            code.add(f"            delta_{r}[j] = dt * ({code.combination(inverse_rows[r], derivatives)}) - ({diagonal})")
        code.add("        blocks_solve(delta, delta, p, shared, persistent)")
        code.add(f"        {NEWTON_COUNTER} += 1",
                 f"        {LINEAR_COUNTER} += 1",
                 "        size = zero",
                 f"        for j in range({n}):",
                 "            weight = dtype(settings[atol_at + j]) + abs(y[j]) * dtype(settings[rtol_at + j])",
                 *[f"            size += (({code.combination(rows[r], updates)}) / weight) ** 2" for r in range(s)],
                 "        size = math.sqrt(size / count)",
                 "        if not math.isfinite(size):",
                 "            return newton_failed",
                 "        if iteration > 0:",
                 "            theta = size / previous",
                 "            if theta >= divergence:",
                 "                return newton_failed",
                 "            eta = theta / (one - theta)",
                 f"        for j in range({m}):",
                 "            w[j] += delta[j]",
                 "        if eta * size <= tolerance:",
                 "            converged = True",
                 "            break",
                 "        previous = size",
                 "    if not converged:",
                 "        return newton_failed",
                 "    history[0] = eta",
                 "    history[1] = dt")

    def _add_prediction(self, code: StepSource) -> None:
        """Lines setting ``z_i = q(1 + c_i r) - q(1)``, ``r = dt / dt_old``, after an accepted step.

        ``q(x) = sum_k L_k(x) z_k^old`` with the Lagrange basis of the nodes
        ``0, c_1, ..., c_s`` (the node 0 carries ``z = 0``). The predicted
        ``Z`` goes to ``f``, free until the first evaluation, to be
        transformed to ``W``.
        """
        c = self.tableau.c
        s, n = self.tableau.stages, self.settings.n_states
        nodes = (0.0, *c)
        code.add("        ratio = dt / history[1]")
        for i in range(s):
            code.add(f"        x = one + {code.constant(f'c_{i}', c[i])} * ratio")
            for k in range(s):
                others = [m for m in range(s + 1) if m != k + 1]
                scale = code.constant(f"lagrange_{k}", 1.0 / np.prod([c[k] - nodes[m] for m in others]))
                at_one = code.constant(f"lagrange_{k}_at_1", np.prod([1.0 - nodes[m] for m in others])
                                       / np.prod([c[k] - nodes[m] for m in others]))
                factors = " * ".join(["x" if nodes[m] == 0.0 else f"(x - {code.constant(f'node_{m}', nodes[m])})"
                                      for m in others])
                shift = f" - {at_one}" if at_one else ""
                code.add(f"        p_{k} = {scale} * {factors}{shift}")
            code.add(f"        for j in range({n}):",
                     f"            f[{i * n} + j] = {' + '.join(f'p_{k} * old[{k * n} + j]' for k in range(s))}")

    def _solution_weights(self) -> tuple[float, ...]:
        """``d = b^T A^-1``: ``y_new = y + sum_i d_i z_i``."""
        tableau = self.tableau
        if tableau.is_stiffly_accurate:
            return tuple(float(i == tableau.stages - 1) for i in range(tableau.stages))
        return tuple(np.linalg.solve(np.array(tableau.a).T, np.array(tableau.b)))

    def _filter_block(self) -> _Block:
        """The real block ``gamma I - dt J`` with ``gamma = 1 / gamma0`` of the filtered estimate."""
        real = np.array(self.transformation.real)
        return self.blocks[int(np.argmin(np.abs(real - 1.0 / self.error_estimate.gamma0)))]

    def _add_error(self, code: StepSource, transformed: list[str], transform: np.ndarray) -> None:
        tableau, n = self.tableau, self.settings.n_states
        estimate = self.error_estimate
        if estimate is None:  # embedded weights: dt (b - b_hat) . F = (b - b_hat)^T A^-1 Z
            weights = np.linalg.solve(np.array(tableau.a).T, np.array(tableau.error_weights))
            errors = code.weights("ew", weights @ transform)
            code.add(f"    for j in range({n}):",
                     f"        error[j] = {code.combination(errors, transformed)}")
            return
        errors = code.weights("e", np.array(estimate.e) @ transform)
        block = self._filter_block()
        combination = code.combination(errors, transformed)
        solve = (f"    {block.name}_solve(error, error, p, filter_shared, filter_persistent)",
                 f"    {LINEAR_COUNTER} += 1")
        code.add(
            "    dxdt(t, y, p, state)",
            f"    for j in range({n}):",
            f"        error[j] = dt * state[j] + {combination}",
            f"    filter_shared, filter_persistent = {block.name}_view(shared, persistent)",
            *solve,
            # RADAU5's refinement (HW II, IV.8, after (8.20); ESTRAD): on the
            # first step and after a rejection a stiff transient can make the
            # first estimate fail a good step; f at y + error filters it once more.
            "    if not fsal_valid and norm(error, y, y_new, settings) > one:",
            f"        for j in range({n}):",
            "            state[j] = y[j] + error[j]",
            "        dxdt(t, state, p, f_0)",
            f"        for j in range({n}):",
            f"            error[j] = dt * f_0[j] + {combination}",
            *("    " + line for line in solve),
        )

    def _block_group(self):
        """The block group (:mod:`batchode.solvers.linear.base`) of the blocks: prepared and solved together
        on ``dW``, each with its eigenvalue of ``A^-1`` as its shift."""
        n, lam = self.settings.n_states, self.transformation.block_matrix
        registry = self.buffer_registry
        members = [BlockMember(self.child(block.name), registry.child_view(block.name), lam[block.first, block.first],
                               lam[block.first + 1, block.first] if block.width == 2 else 0.0, block.first * n)
                   for block in self.blocks]
        return type(members[0].factory).together(members)

    def runtime_values(self) -> dict:
        s = self.settings
        return dict(tolerance_values(s.rtol, s.atol, s.n_states),
                    tolerance=convergence_tolerance(s.newton_tolerance, s.rtol, self.precision),
                    max_iterations=s.newton_max_iterations)

    def build(self):
        settings = self.settings
        n = settings.n_states
        dtype = self.precision.type
        registry = self.buffer_registry
        system = self.child("system")
        at = self.runtime_offset
        namespace = {
            "math": math,
            "dtype": dtype,
            "dxdt": system.device_function,
            "jacobian": (system.jacobian_function if self.linear_solver == "dense"
                         else system.jacobian_values_function),
            "rtol_at": at("rtol"),
            "atol_at": at("atol"),
            "tolerance_at": at("tolerance"),
            "max_iterations_at": at("max_iterations"),
            "one": dtype(1.0),
            "count": dtype(settings.tableau.stages * n),
            "eps": dtype(np.finfo(self.precision).eps),
            "memory": dtype(RATE_MEMORY_EXPONENT),
            "divergence": dtype(DIVERGENCE_RATE),
            "newton_failed": int(Status.NEWTON_FAILED),
            "norm": weighted_rms_norm(self.backend, self.precision, n, at("rtol"), at("atol")),
        }
        if self.error_estimate is not None:
            filter_block = self._filter_block()
            namespace.update({f"{filter_block.name}_view": registry.child_view(filter_block.name),
                              f"{filter_block.name}_solve": self.child(filter_block.name).built.solve})
        blocks = self._block_group()
        namespace.update(blocks_prepare=blocks.prepare, blocks_solve=blocks.solve)
        for name, buffer in registry.buffers.items():
            namespace[f"alloc_{name}"] = buffer.allocate()
        step, _ = self._source().compile("step", namespace, f"firk step {self.tableau.name}")
        step = self.backend.device_function(step, inline=False)
        if not self.interpolates:
            return step
        scope = dict(alloc_previous_increments=namespace["alloc_previous_increments"], dtype=dtype)
        evaluate, _ = self._interpolant_source().compile("evaluate", scope, f"firk interpolant {self.tableau.name}")
        device = self.backend.device_function
        return InterpolatingStep(step, InterpolantBuild(device(nothing_to_prepare), device(evaluate)))

    def _interpolant_source(self) -> StepSource:
        """Source of the contract's ``evaluate``: the collocation polynomial of the step.

        ``u(theta) = y + sum_k L_k(theta) z_k`` with the increments ``z_k``
        the step left in ``previous_increments`` and the Lagrange basis of
        the nodes ``0, c_1, ..., c_s`` (the node 0 carries ``z = 0``), each
        ``L_k(theta) = theta P_k(theta)`` evaluated by Horner's rule.
        """
        c, n = self.tableau.c, self.settings.n_states
        code = StepSource(self.precision)
        code.add("def evaluate(theta, dt, y, y_new, out, shared, persistent):",
                 "    old = alloc_previous_increments(shared, persistent)",
                 "    s = dtype(theta)")
        terms = []
        for k, node in enumerate(c):
            others = [other for m, other in enumerate(c) if m != k]
            # L_k(theta) = theta prod_m (theta - c_m) / (c_k prod_m (c_k - c_m)), lowest power first.
            basis = np.poly(others)[::-1] / (node * np.prod([node - other for other in others]))
            code.add(f"    w_{k} = s * {code.polynomial(f'l_{k}', basis)}")
            terms.append(f"w_{k} * old[{k * n} + j]")
        code.add(f"    for j in range({n}):", f"        out[j] = y[j] + {' + '.join(terms)}")
        return code
