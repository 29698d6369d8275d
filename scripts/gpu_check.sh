#!/usr/bin/env bash
# The prepared GPU check (issue 16), for a short GPU slot on a machine with
# one NVIDIA GPU:
#   bash scripts/gpu_check.sh [OUTDIR [OPTIONS]]   (default: gpu_check_output)
# Installs what it needs (at most 150 s), then runs benchmarks/gpu_check.py:
# the gpu tests, the GPU benchmarks, the CUDA kernel's build times and the
# versions, each step with its own time limit, all within 8 minutes. Writes
# OUTDIR/gpu_check.json and OUTDIR/gpu_check.md; exits non-zero when any step
# failed. OPTIONS go to the driver (see `benchmarks/gpu_check.py --help`;
# --tiny: toy sizes, with NUMBA_ENABLE_CUDASIM=1 a smoke test without a GPU).
# GPU_CHECK_PYTHON=/path/to/python skips the install and uses that
# interpreter (it needs batchode's dependencies, numba-cuda and pytest), e.g.
# on a machine without network access.
set -uo pipefail
OUTDIR=$(realpath -m "${1:-$(dirname "$0")/../gpu_check_output}")
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
export BATCHODE_CACHE_DIR="${BATCHODE_CACHE_DIR:-$PWD/.batchode_cache}"

# CUDA wheels to match the driver: pyproject.toml's extra cuda13 for a driver
# of CUDA 13 or later, else cuda12 (also when nvidia-smi is missing or mute).
cuda_major=$(nvidia-smi 2>/dev/null | sed -n 's/.*CUDA Version: *\([0-9][0-9]*\).*/\1/p' | head -n 1)
if [ "${cuda_major:-0}" -ge 13 ]; then extra=cuda13; else extra=cuda12; fi

usable() { "$1" -c "import batchode, numba.cuda, pytest" >/dev/null 2>&1; }

python="${GPU_CHECK_PYTHON:-}"
if [ -z "$python" ]; then
    # Without network pip should give up at once rather than retry for minutes.
    export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_RETRIES=1 PIP_TIMEOUT=15
    timeout 150 bash -c 'source scripts/ensure_venv.sh "$1" &&
        .venv/bin/python -m pip install --quiet "pytest>=8" "pytest-xdist>=3.5"' _ "$extra" ||
        echo "gpu_check: installing batchode[$extra] into .venv failed; trying the Pythons already here" >&2
    for candidate in .venv/bin/python python3; do
        if usable "$candidate"; then python=$candidate; break; fi
    done
fi
if [ -z "$python" ]; then
    echo "gpu_check: no Python with batchode's dependencies, numba-cuda and pytest; set GPU_CHECK_PYTHON" >&2
    exit 2
fi
echo "gpu_check: $python; CUDA wheels $extra (driver's CUDA ${cuda_major:-unknown})"
exec "$python" benchmarks/gpu_check.py --output "$OUTDIR" "${@:2}"
