"""The sparse LU compiled for CUDA in float32: single precision throughout, its schedule constant data."""

import re

import numba
import numpy as np

from batchode.backends.ptx import compile_kernel_ptx, ptxas_report
from batchode.solvers.linear import SparseLU
from batchode.systems import examples
from batchode.systems.device import SystemFactory


def test_float32_sparse_lu_has_no_double_precision_and_keeps_its_schedule_in_constant_memory(ptx_toolchain):
    build = SparseLU(SystemFactory(examples.brusselator(5), precision=np.float32, backend="cuda")).built
    prepare, solve = build.prepare, build.solve

    def kernel(t, y, p, alpha, rhs, x, settings, shared, persistent, status):
        status[0] = prepare(t[0], y, p, alpha[0], settings, shared, persistent)
        status[1], status[2] = solve(rhs, x, p, settings, shared, persistent)

    single = numba.types.float32[::1]
    signature = (*[single] * 6, numba.types.float64[::1], single, single, numba.types.int32[::1])
    ptx = compile_kernel_ptx(kernel, signature)
    assert ".f32" in ptx and ".f64" not in ptx
    # The schedule's int32 arrays are .const data, at most one copy per
    # array and function that reads it (five in the factorisation, four in
    # the substitutions), however often they are indexed.
    constants = re.findall(r"^\.const \.align 4 \.b8 \S+\[\d+\]", ptx, re.MULTILINE)
    assert 1 <= len(constants) <= 9, constants
    # Measured: 32 registers, no stack frame.
    assert ptxas_report(ptx).spills == 0
