"""The sparse LU compiled for CUDA in float32: single precision throughout, its schedule in the instructions."""

import re

import numba
import numpy as np

from batchode.backends.ptx import compile_kernel_ptx, ptxas_report
from batchode.solvers.linear import SparseLU
from batchode.systems import examples
from batchode.systems.device import SystemFactory


def test_float32_sparse_lu_has_no_double_precision_and_no_schedule_data(ptx_toolchain):
    build = SparseLU(SystemFactory(examples.brusselator(5), precision=np.float32, backend="cuda")).built
    prepare, solve = build.prepare, build.solve

    def kernel(t, y, p, alpha, rhs, x, settings, shared, persistent, status):
        status[0] = prepare(t[0], y, p, alpha[0], settings, shared, persistent)
        status[1], status[2] = solve(rhs, x, p, settings, shared, persistent)

    single = numba.types.float32[::1]
    signature = (*[single] * 6, numba.types.float64[::1], single, single, numba.types.int32[::1])
    ptx = compile_kernel_ptx(kernel, signature)
    assert ".f32" in ptx and ".f64" not in ptx
    # The schedule is unrolled into the code (sparse_code.py): every index
    # a constant offset, so no array of it is left as data, and no local
    # memory is needed for the factors' arithmetic.
    assert not re.findall(r"^\.const ", ptx, re.MULTILINE)
    report = ptxas_report(ptx)
    print(report)
    # Measured: 52 registers (32 with loops over the schedule), no stack frame.
    assert report.spills == 0
