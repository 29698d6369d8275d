#!/usr/bin/env bash
# Creates .venv if needed and installs batchode with the extras given as $1
# (e.g. "test,plot"). Sourced by the other scripts; run from the repo root.
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[$1]"
