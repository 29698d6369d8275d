"""ptxas resources of the Lorenz Tsit5 adaptive kernel (sm_90, float32)."""

import numpy as np

from batchode import Solver
from batchode.systems.examples import lorenz

#: Measured 62 with run-time settings and float64 time (40 before both; see
#: benchmarks/RESULTS.md). The bound stops silent growth; raising it needs a
#: measurement that says why.
MAX_REGISTERS = 64


def test_lorenz_tsit5_kernel_has_no_stack_no_spills_and_bounded_registers(ptx_toolchain):
    solver = Solver(lorenz(), method="tsit5", precision="float32", backend="cuda", cache=False)
    args = solver.prepare_arguments((0.0, 1.0), parameters={"rho": np.linspace(0.0, 21.0, 4)}).args
    report = solver.kernel.ptxas_report(args)
    print(report)
    assert report.stack_frame_bytes == 0 and report.spills == 0, report
    assert report.registers <= MAX_REGISTERS, report
