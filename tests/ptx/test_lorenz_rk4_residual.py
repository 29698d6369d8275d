"""ptxas resources of the Lorenz classical-rk4 adaptive kernel (sm_90, float32).

The residual estimate adds one LOCAL buffer (the second node's residual)
and the persistent end-point derivative; they must stay in registers.
"""

import numpy as np

from batchode import Solver
from batchode.systems.examples import lorenz


def test_lorenz_rk4_residual_kernel_has_no_stack_and_no_spills(ptx_toolchain):
    solver = Solver(lorenz(), method="classical-rk4", precision="float32", backend="cuda")
    # With saves: the Hermite interpolant's kernel, the larger of the two.
    prepared = solver.prepare_arguments((0.0, 1.0), parameters={"rho": np.linspace(0.0, 21.0, 4)}, save_every=0.1)
    report = prepared.kernel.ptxas_report(prepared.args)
    print(report)
    assert report.stack_frame_bytes == 0 and report.spills == 0, report
