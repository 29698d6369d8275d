#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: creates .venv if needed,
# installs batchode with its test extra, then runs
#   1. every test except the CUDA-simulator ones (2 workers), with the PTX
#      toolchain required (a missing ptxas/NVVM is a failure, not a skip);
#   2. the CUDA-simulator tests in their own process, since numba reads
#      NUMBA_ENABLE_CUDASIM when numba.cuda is first imported.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure_venv.sh "test,plot"
export BATCHODE_REQUIRE_PTX=1
export NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-$PWD/.numba_cache}"
# One compile cache for the whole run, shared by both test workers and the
# simulator process, so each kernel configuration compiles once per run.
export BATCHODE_CACHE_DIR="${BATCHODE_CACHE_DIR:-$PWD/.batchode_cache}"
.venv/bin/python -m pytest -q -n "${TEST_WORKERS:-2}" --dist loadgroup -p no:cacheprovider tests "$@"
NUMBA_ENABLE_CUDASIM=1 .venv/bin/python -m pytest -q -p no:cacheprovider -m cudasim tests "$@"
