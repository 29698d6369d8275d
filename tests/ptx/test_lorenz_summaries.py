"""ptxas resources of a summaries-only Lorenz Tsit5 kernel (sm_90, float32).

The metrics' running state is LOCAL_PERSISTENT, a per-thread array indexed
at compile-time-known offsets, so selecting metrics must not spill.
"""

import numpy as np

from batchode import Solver
from batchode.systems.examples import lorenz


def test_summaries_only_kernel_does_not_spill(ptx_toolchain):
    solver = Solver(lorenz(), method="tsit5", precision="float32", backend="cuda", save_time_series=False,
                    summaries=["mean", "std", "extrema", "peaks[2]", "dxdt_max"])
    prepared = solver.prepare_arguments((0.0, 1.0), parameters={"rho": np.linspace(0.0, 21.0, 4)}, save_every=0.01,
                                        summarise_every=0.5)
    report = prepared.kernel.ptxas_report(prepared.args)
    print(report)
    assert report.spills == 0, report
