"""ptxas resources of implicit kernels on 3-state systems (sm_90, float32): no spills."""

import pytest

from batchode import Solver
from batchode.systems.examples import lorenz, robertson


# Measured (radau_iia_5 on Robertson, adaptive): 72 registers, 232 bytes of
# stack frame (the real 3 x 3 and the complex 3 x 3 block LUs of the
# transformed Newton iteration and the previous step's stages live in the
# per-thread persistent array), 0 spills; 80 registers and 512 bytes with
# the coupled 9 x 9 stage LU and a separate 3 x 3 error filter.
@pytest.mark.parametrize("system, method", [(lorenz, "kvaerno3"), (robertson, "rodas4"),
                                            (robertson, "radau-iia-5")])
def test_three_state_implicit_kernels_do_not_spill(ptx_toolchain, system, method):
    solver = Solver(system(), method=method, precision="float32", backend="cuda")
    # With saves: the kernel that interpolates them, the larger of the two.
    prepared = solver.prepare_arguments((0.0, 1.0), save_every=0.1)
    report = prepared.kernel.ptxas_report(prepared.args)
    print(method, report)
    # The dense LU pivots with run-time row indices, so its matrix lives in
    # the stack frame (local memory), which is not a spill.
    assert report.spills == 0, report
