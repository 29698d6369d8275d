#!/usr/bin/env bash
# Runs the demo on a fresh machine: creates .venv if needed, installs
# batchode with its plot extra, then sweeps Lorenz over 10,000 rho values.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[plot]"
.venv/bin/python -m batchode.demo "$@"
