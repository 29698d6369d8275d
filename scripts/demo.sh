#!/usr/bin/env bash
# Runs the demo on a fresh machine: creates .venv if needed, installs
# batchode with its plot extra, then sweeps Lorenz over 10,000 rho values.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ensure_venv.sh "plot"
.venv/bin/python -m batchode.demo "$@"
