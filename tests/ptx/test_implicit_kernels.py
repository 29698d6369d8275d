"""ptxas resources of implicit kernels on 3-state systems (sm_90, float32): no spills."""

import pytest

from batchode import Solver
from batchode.systems.examples import lorenz, robertson


# Measured (radau_iia_5 on Robertson, adaptive, with saves): with the
# default sparse block LUs, 128 registers and no stack frame (the schedule
# is fully unrolled, so the factors' indices are constants and they live in
# registers; the lockstep blocks took 6 more, reading the run-time values
# where they are used 6 fewer); with linear_solver="dense", 92 registers
# and 232 bytes of stack frame (the real 3 x 3 and the complex 3 x 3 block LUs, which pivot
# with run-time row indices, and the previous step's stages live in the
# per-thread persistent array). 0 spills either way.
@pytest.mark.parametrize("system, method, linear_solver", [(lorenz, "kvaerno3", None), (robertson, "rodas4", None),
                                                           (robertson, "radau-iia-5", None),
                                                           (robertson, "radau-iia-5", "dense")])
def test_three_state_implicit_kernels_do_not_spill(ptx_toolchain, system, method, linear_solver):
    solver = Solver(system(), method=method, precision="float32", backend="cuda", linear_solver=linear_solver)
    # With saves: the kernel that interpolates them, the larger of the two.
    prepared = solver.prepare_arguments((0.0, 1.0), save_every=0.1)
    report = prepared.kernel.ptxas_report(prepared.args)
    print(method, report)
    # The dense LU pivots with run-time row indices, so its matrix lives in
    # the stack frame (local memory), which is not a spill.
    assert report.spills == 0, report
