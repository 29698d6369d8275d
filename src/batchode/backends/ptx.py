"""Compile kernels to PTX and assemble them with ``ptxas -v``, without a GPU.

This is how "allocation is free" and "no spills" are checked on machines with
no GPU: numba-cuda's ``compile_ptx`` needs only the NVVM wheel, and ``ptxas``
comes with the ``nvidia-cuda-nvcc`` wheel of the same CUDA release.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import attrs


class ToolchainMissing(RuntimeError):
    """NVVM or ptxas is not installed (only then may PTX checks be skipped)."""


@attrs.frozen
class PtxasReport:
    """Resources ptxas reports for one kernel entry."""

    entry: str
    arch: str
    registers: int
    stack_frame_bytes: int
    spill_store_bytes: int
    spill_load_bytes: int
    line: str

    @property
    def spills(self) -> int:
        """Spill stores plus spill loads, in bytes."""
        return self.spill_store_bytes + self.spill_load_bytes

    def __str__(self) -> str:
        return (
            f"{self.arch}: {self.registers} registers, {self.stack_frame_bytes} bytes stack frame, "
            f"{self.spill_store_bytes} bytes spill stores, {self.spill_load_bytes} bytes spill loads"
        )


def find_ptxas() -> str:
    """Path of the ptxas that matches the installed NVVM (the nvcc wheel's first)."""
    candidates = []
    for entry in sys.path:
        candidates.append(Path(entry) / "nvidia" / "cuda_nvcc" / "bin" / "ptxas")
        candidates.append(Path(entry) / "nvidia" / "cu13" / "bin" / "ptxas")
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    found = shutil.which("ptxas")
    if found:
        return found
    raise ToolchainMissing(
        "ptxas not found: install the test extra (pip install 'batchode[test]'), "
        "which brings the nvidia-cuda-nvcc wheel"
    )


@contextlib.contextmanager
def _target_without_driver(cc: tuple[int, int]):
    """Let device-function calls compile for ``cc`` with no CUDA driver present.

    numba-cuda compiles a called ``@cuda.jit(device=True)`` function for the
    *current device's* compute capability (``dispatcher.compile_device``),
    which needs a driver even inside ``compile_ptx``. For PTX-only builds we
    stand in a device object that reports the target capability. Nothing is
    launched while this is active.
    """
    from numba.cuda import dispatcher

    original = dispatcher.get_current_device
    dispatcher.get_current_device = lambda: types.SimpleNamespace(compute_capability=cc)
    try:
        yield
    finally:
        dispatcher.get_current_device = original


def compile_kernel_ptx(kernel_function, argument_types, cc=(9, 0)) -> str:
    """Compile a Python kernel function to PTX for compute capability ``cc``.

    Parameters
    ----------
    kernel_function : function
        The undecorated kernel (``launch.kernel`` of a CUDA batch kernel).
    argument_types : tuple of numba types
        The kernel's argument types.
    cc : tuple of int
        Target compute capability, e.g. ``(9, 0)`` for sm_90.
    """
    from numba import config

    if config.ENABLE_CUDASIM:
        raise RuntimeError("PTX cannot be generated under the CUDA simulator")
    from numba import cuda

    try:
        with _target_without_driver(tuple(cc)):
            ptx, _ = cuda.compile_ptx(kernel_function, tuple(argument_types), cc=tuple(cc))
    except (OSError, ImportError) as error:
        raise ToolchainMissing(f"NVVM is not usable here: {error}") from error
    except Exception as error:
        if "NVVM" in str(error) or "libnvvm" in str(error):
            raise ToolchainMissing(f"NVVM is not usable here: {error}") from error
        raise
    return ptx


_ENTRY = re.compile(r"Compiling entry function '([^']+)' for '([^']+)'")
_FRAME = re.compile(
    r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads"
)
_REGISTERS = re.compile(r"Used (\d+) registers")


def parse_ptxas_output(text: str) -> list[PtxasReport]:
    """Parse ``ptxas -v`` output into one report per kernel entry."""
    reports = []
    entry = arch = None
    frame = None
    for line in text.splitlines():
        if match := _ENTRY.search(line):
            entry, arch, frame = match.group(1), match.group(2), None
        elif entry and (match := _FRAME.search(line)):
            frame = tuple(int(g) for g in match.groups())
        elif entry and frame and (match := _REGISTERS.search(line)):
            reports.append(PtxasReport(entry, arch, int(match.group(1)), *frame, line.strip()))
            entry = None
    return reports


def ptxas_report(ptx: str, arch: str = "sm_90") -> PtxasReport:
    """Assemble ``ptx`` with ``ptxas -v`` and return the kernel entry's resources."""
    ptxas = find_ptxas()
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "kernel.ptx"
        source.write_text(ptx)
        result = subprocess.run(
            [ptxas, "-v", f"-arch={arch}", str(source), "-o", str(Path(folder) / "kernel.cubin")],
            capture_output=True,
            text=True,
        )
    if result.returncode != 0:
        raise RuntimeError(f"ptxas failed ({result.returncode}):\n{result.stderr}")
    reports = parse_ptxas_output(result.stdout + result.stderr)
    if len(reports) != 1:
        raise RuntimeError(
            f"expected one kernel entry in the ptxas report, found {len(reports)}:\n{result.stderr}"
        )
    return reports[0]
