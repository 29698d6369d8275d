"""ptxas resources of the Lorenz Tsit5 adaptive kernels (sm_90, float32).

A batch that saves only its end state runs a kernel without an
interpolant; a batch with saves runs the one whose step keeps its stages
for Tsit5's interpolant. Both are bounded.
"""

import numpy as np
import pytest

from batchode import Solver
from batchode.systems.examples import lorenz

#: Measured 64 for the end-state kernel (40 before run-time settings and
#: float64 time, 62 before t_end and the end state/time outputs; see
#: benchmarks/RESULTS.md) and 87 for the interpolating one (the seven
#: stages stay live across the loop for the interpolant). The bounds stop
#: silent growth; raising one needs a measurement that says why.
MAX_REGISTERS = {"end state": 64, "saves": 88}


@pytest.mark.parametrize("saves", ["end state", "saves"])
def test_lorenz_tsit5_kernel_has_no_stack_no_spills_and_bounded_registers(ptx_toolchain, saves):
    solver = Solver(lorenz(), method="tsit5", precision="float32", backend="cuda", cache=False)
    prepared = solver.prepare_arguments((0.0, 1.0), parameters={"rho": np.linspace(0.0, 21.0, 4)},
                                        save_every=0.1 if saves == "saves" else None)
    report = prepared.kernel.ptxas_report(prepared.args)
    print(report)
    assert report.stack_frame_bytes == 0 and report.spills == 0, report
    assert report.registers <= MAX_REGISTERS[saves], report
