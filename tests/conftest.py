"""Shared test configuration.

Tests marked ``cudasim`` need ``NUMBA_ENABLE_CUDASIM=1`` set before
``numba.cuda`` is imported, so they run in their own pytest process (see
``scripts/run_tests.sh``); in a normal process they are skipped, and in the
simulator process everything else is.
"""

from __future__ import annotations

import os

import pytest

SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"


def pytest_collection_modifyitems(config, items):
    for item in items:
        is_sim = "cudasim" in item.keywords
        if is_sim and not SIMULATOR:
            item.add_marker(pytest.mark.skip(reason="CUDA simulator tests run in their own process (NUMBA_ENABLE_CUDASIM=1)"))
        elif SIMULATOR and not is_sim:
            item.add_marker(pytest.mark.skip(reason="only cudasim tests run in the simulator process"))
