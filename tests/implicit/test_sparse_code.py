"""The sparse LU's straight-line code (numba intrinsics emitting LLVM IR) against its Python twin, bit for bit."""

import re

import numba
import numpy as np
import pytest

from batchode.solvers.linear import sparse_schedule
from batchode.solvers.linear.sparse_code import (MACHINE_CODE_AS_ASSEMBLY, factorise_intrinsic, python_functions,
                                                 substitute_intrinsic)
from batchode.status import Status
from sparse_systems import random_pattern


def compiled_functions(schedule, complex_entries, eps, out_of_line):
    """One block's ``factorise(values, alpha, shift_re, shift_im, factors)`` and ``substitute(factors, rhs, x)``."""
    return one_block(*compiled_blocks(schedule, (complex_entries,), eps, out_of_line))


def compiled_blocks(schedule, kinds, eps, out_of_line):
    """The intrinsics' own signatures (tuples of shifts and factors) for blocks of ``kinds``, compiled."""
    factorise_code = factorise_intrinsic(schedule, kinds, eps, out_of_line)
    substitute_code = substitute_intrinsic(schedule, kinds, out_of_line)

    @numba.njit
    def factorise(values, alpha, shifts, factors):
        return factorise_code(values, alpha, shifts, factors)

    @numba.njit
    def substitute(factors, rhs, x):
        substitute_code(factors, rhs, x)

    return factorise, substitute


def one_block(factorise_blocks, substitute_blocks):
    def factorise(values, alpha, shift_re, shift_im, factors):
        return factorise_blocks(values, alpha, (shift_re, shift_im), (factors,))

    def substitute(factors, rhs, x):
        substitute_blocks((factors,), rhs, x)

    return factorise, substitute


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("complex_entries", [False, True])
@pytest.mark.parametrize("out_of_line", [True, False])
def test_compiled_code_equals_the_python_twin_bit_for_bit(dtype, complex_entries, out_of_line):
    rng = np.random.default_rng(11 + 2 * complex_entries + out_of_line)
    n = 12
    pattern = random_pattern(rng, n, 3)
    schedule = sparse_schedule(n, pattern)
    eps = float(np.finfo(dtype).eps)
    compiled = compiled_functions(schedule, complex_entries, eps, out_of_line)
    twin = one_block(*python_functions(schedule, (complex_entries,), eps))
    parts = 2 if complex_entries else 1
    values = rng.uniform(-1.0, 1.0, len(pattern)).astype(dtype)
    rhs = rng.normal(size=parts * n).astype(dtype)
    results = []
    for factorise, substitute in (compiled, twin):
        factors = np.zeros(parts * schedule.stored, dtype)
        status = factorise(values, dtype(0.05), dtype(1.0), dtype(0.7), factors)
        x = np.zeros(parts * n, dtype)
        substitute(factors, rhs, x)
        in_place = rhs.copy()
        substitute(factors, in_place, in_place)  # rhs and x may be the same array
        np.testing.assert_array_equal(in_place, x)
        results.append((status, factors, x))
    (status, factors, x), (twin_status, twin_factors, twin_x) = results
    assert status == twin_status == 0
    np.testing.assert_array_equal(factors, twin_factors)
    np.testing.assert_array_equal(x, twin_x)


@pytest.mark.parametrize("out_of_line", [True, False])
def test_blocks_in_lockstep_equal_each_block_alone_bit_for_bit(out_of_line):
    # Three blocks (real, complex, real) on one pattern: factorised and
    # solved together, each gives what it gives alone, and the twin agrees.
    rng = np.random.default_rng(13 + out_of_line)
    n = 9
    pattern = random_pattern(rng, n, 3)
    schedule = sparse_schedule(n, pattern)
    eps = float(np.finfo(np.float64).eps)
    kinds = (False, True, False)
    shifts = (1.5, 0.0, 0.8, -0.6, 2.5, 0.0)
    values = rng.uniform(-1.0, 1.0, len(pattern))
    rhs = rng.normal(size=4 * n)
    sizes = [(1 + kind) * schedule.stored for kind in kinds]
    together = []
    for factorise, substitute in (compiled_blocks(schedule, kinds, eps, out_of_line),
                                  python_functions(schedule, kinds, eps)):
        factors = tuple(np.zeros(size) for size in sizes)
        assert factorise(values, 0.05, shifts, factors) == 0
        x = rhs.copy()
        substitute(factors, x, x)
        together.append((factors, x))
    alone = []
    offset = 0
    for k, kind in enumerate(kinds):
        factorise, substitute = compiled_functions(schedule, kind, eps, out_of_line)
        factors, width = np.zeros(sizes[k]), (1 + kind) * n
        assert factorise(values, 0.05, shifts[2 * k], shifts[2 * k + 1], factors) == 0
        x = np.zeros(width)
        substitute(factors, rhs[offset:offset + width], x)
        alone.append((factors, x))
        offset += width
    for factors, x in together:
        for k in range(len(kinds)):
            np.testing.assert_array_equal(factors[k], alone[k][0])
        np.testing.assert_array_equal(x, np.concatenate([solution for _, solution in alone]))
    # One block failing fails the group: the middle block's shift and J both zero.
    factorise, _ = compiled_blocks(schedule, kinds, eps, out_of_line)
    zero_shifts = (1.5, 0.0, 0.0, 0.0, 2.5, 0.0)
    factors = tuple(np.zeros(size) for size in sizes)
    assert factorise(np.zeros(len(pattern)), 0.05, zero_shifts, factors) == Status.LINEAR_SOLVER_FAILED


def test_strided_arrays_and_a_lost_pivot():
    rng = np.random.default_rng(5)
    n = 8
    pattern = random_pattern(rng, n, 2)
    schedule = sparse_schedule(n, pattern)
    factorise, substitute = compiled_functions(schedule, False, float(np.finfo(np.float64).eps), True)
    values = rng.uniform(-1.0, 1.0, len(pattern))
    contiguous = np.zeros(schedule.stored)
    assert factorise(values, 0.1, 1.0, 0.0, contiguous) == 0
    strided = np.zeros(2 * schedule.stored)[::2]  # every other element: a non-contiguous layout
    assert factorise(values[::1], 0.1, 1.0, 0.0, strided) == 0
    np.testing.assert_array_equal(strided, contiguous)
    rhs = rng.normal(size=2 * n)[::2]
    x, y = np.zeros(n), np.zeros(n)
    substitute(contiguous, np.ascontiguousarray(rhs), x)
    substitute(strided, rhs, y)
    np.testing.assert_array_equal(x, y)
    # J = 0 and a zero shift: every pivot is zero, and the status says so.
    assert factorise(np.zeros(len(pattern)), 0.1, 0.0, 0.0, contiguous) == Status.LINEAR_SOLVER_FAILED


@pytest.mark.skipif(not MACHINE_CODE_AS_ASSEMBLY, reason="machine code travels as ELF assembly on Linux only")
def test_the_sparse_lu_reaches_a_kernel_as_machine_code_once_however_often_it_is_linked():
    rng = np.random.default_rng(7)
    n = 10
    pattern = random_pattern(rng, n, 3)
    schedule = sparse_schedule(n, pattern)
    eps = float(np.finfo(np.float64).eps)
    factorise_code = factorise_intrinsic(schedule, (False,), eps, True)
    substitute_code = substitute_intrinsic(schedule, (False,), True)

    @numba.njit
    def factorise(values, alpha, factors):
        return factorise_code(values, alpha, (1.0, 0.0), (factors,))

    @numba.njit
    def solve(values, alpha, factors, rhs, x):
        status = factorise_code(values, alpha, (1.0, 0.0), (factors,))
        substitute_code((factors,), rhs, x)
        return status

    @numba.njit
    def both(values, alpha, first, second, rhs, x):  # links both callers' libraries: the assembly twice
        return factorise(values, alpha, first) + solve(values, alpha, second, rhs, x)

    values, rhs = rng.uniform(-1.0, 1.0, len(pattern)), rng.normal(size=n)
    first, second, x = np.zeros(schedule.stored), np.zeros(schedule.stored), np.zeros(n)
    assert both(values, 0.05, first, second, rhs, x) == 0
    twin_factorise, twin_substitute = one_block(*python_functions(schedule, (False,), eps))
    expected, expected_x = np.zeros(schedule.stored), np.zeros(n)
    assert twin_factorise(values, 0.05, 1.0, 0.0, expected) == 0
    twin_substitute(expected, rhs, expected_x)
    for factors in (first, second):
        np.testing.assert_array_equal(factors, expected)
    np.testing.assert_array_equal(x, expected_x)
    # Both functions are declared, their machine code as assembly beside them.
    code = next(iter(solve.inspect_llvm().values()))
    for kind, returns in (("factorise", "i64"), ("substitute", "void")):
        name = re.search(rf"declare {returns} @\"?(batchode_sparse_{kind}_\w+)", code).group(1)
        assert f'module asm ".ifndef {name}"' in code
        assert not re.search(rf"define [^\n]*@\"?{name}", code)
