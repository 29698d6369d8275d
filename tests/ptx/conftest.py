"""PTX/ptxas checks: skipped only when the toolchain is genuinely absent.

``scripts/run_tests.sh`` sets ``BATCHODE_REQUIRE_PTX=1`` so that in CI a
missing toolchain is a failure, not a skip.
"""

import os

import pytest

from batchode.backends.ptx import ToolchainMissing, find_ptxas


@pytest.fixture(scope="session")
def ptx_toolchain():
    try:
        return find_ptxas()
    except ToolchainMissing as missing:
        if os.environ.get("BATCHODE_REQUIRE_PTX") == "1":
            pytest.fail(f"PTX toolchain required but missing: {missing}")
        pytest.skip(str(missing))
