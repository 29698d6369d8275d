"""Every method family on a real GPU gives the CPU backend's results, to rounding (see ``against_cpu``)."""

import numpy as np
import pytest
from against_cpu import assert_same, solve_on_both

from batchode.systems.examples import lorenz, van_der_pol

pytestmark = pytest.mark.gpu

# Explicit methods on Lorenz (rho below, around and above the onset of chaos,
# t in [0, 1]); implicit ones on van der Pol from mildly to clearly stiff.
# Saves every 0.05 come from each method's interpolant.
EXPLICIT = (lorenz, (0.0, 1.0), {"rho": [5.0, 15.0, 28.0]})
IMPLICIT = (van_der_pol, (0.0, 2.0), {"mu": [1.0, 10.0, 100.0]})
FAMILIES = {"tsit5": EXPLICIT, "dop853": EXPLICIT, "kvaerno5": IMPLICIT, "rodas5p": IMPLICIT,
            "radau_iia_5": IMPLICIT}


@pytest.mark.parametrize("method", list(FAMILIES))
def test_method_matches_the_cpu(method):
    system, span, parameters = FAMILIES[method]
    gpu, cpu = solve_on_both(system(), span, dict(method=method), parameters=parameters, save_every=0.05)
    assert cpu.success.all()
    assert np.isfinite(gpu.y).all()
    assert_same(gpu, cpu)
