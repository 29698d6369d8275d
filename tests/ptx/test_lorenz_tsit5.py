"""ptxas resources of the Lorenz Tsit5 adaptive kernel (sm_90, float32)."""

import numpy as np

from batchode import Solver
from batchode.systems.examples import lorenz


def test_lorenz_tsit5_kernel_has_no_stack_and_no_spills(ptx_toolchain):
    solver = Solver(lorenz(), method="tsit5", precision="float32", backend="cuda")
    n, f32 = 4, np.float32
    args = (f32(0.0), f32(1e-3), np.zeros((n, 3), f32), np.zeros((n, 3), f32), np.ones(1, f32),
            np.zeros((1, 3, n), f32), np.zeros((1, 1, n), f32), np.zeros((2, n), np.int32), np.zeros(n, np.int32))
    report = solver.kernel.ptxas_report(args)
    print(report)
    assert report.stack_frame_bytes == 0 and report.spills == 0, report
