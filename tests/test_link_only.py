"""CPU device functions are compiled for linking only: no machine code of their own, still callable from Python."""

import numba
import numpy as np
import pytest
from numba.core.codegen import JITCodeLibrary

from batchode.backends.cpu import JIT_OPTIONS, CPUBackend
from batchode.backends.link_only import LinkOnlyLibrary


def _axpy(x, out):
    for i in range(x.shape[0]):
        out[i] += 2.0 * x[i]


def _recorded_libraries(monkeypatch, method: str) -> list[str]:
    """Names of the code libraries on which ``JITCodeLibrary.<method>`` runs while the test runs."""
    names = []
    original = getattr(JITCodeLibrary, method)

    def recording(library):
        names.append(library.name)
        return original(library)

    monkeypatch.setattr(JITCodeLibrary, method, recording)
    return names


@pytest.fixture
def machine_code_libraries(monkeypatch):
    """Names of the code libraries turned into machine code while the test runs."""
    return _recorded_libraries(monkeypatch, "_finalize_specific")


@pytest.fixture
def module_optimised_libraries(monkeypatch):
    """Names of the code libraries whose linked module numba's module passes optimise while the test runs."""
    return _recorded_libraries(monkeypatch, "_optimize_final_module")


@pytest.mark.parametrize("inline", [False, True])
def test_only_the_kernel_becomes_machine_code_and_runs_module_passes(machine_code_libraries,
                                                                     module_optimised_libraries, inline):
    device = CPUBackend().device_function(_axpy, inline=inline)

    @numba.njit(**JIT_OPTIONS)
    def kernel_twice(x, out):
        device(x, out)
        device(out, x)

    x, out = np.arange(3.0), np.ones(3)
    kernel_twice(x, out)
    np.testing.assert_array_equal(out, [1.0, 3.0, 5.0])
    np.testing.assert_array_equal(x, [2.0, 7.0, 12.0])
    assert [name for name in machine_code_libraries if "_axpy" in name] == []
    assert any("kernel_twice" in name for name in machine_code_libraries)
    # The kernel optimises the linked whole once; its device functions are not optimised as modules first.
    assert [name for name in module_optimised_libraries if "_axpy" in name] == []
    assert any("kernel_twice" in name for name in module_optimised_libraries)
    if inline:  # inlined at numba-IR level before typing: never compiled on its own
        assert not device.overloads
    else:
        (compiled,) = device.overloads.values()
        assert isinstance(compiled.library, LinkOnlyLibrary)


def test_a_link_only_function_still_runs_from_python():
    device = CPUBackend().device_function(_axpy, inline=False)
    x, out = np.arange(3.0), np.ones(3)
    device(x, out)  # compiles the Python stand-in's twin
    device(x, out)  # and reuses it
    np.testing.assert_array_equal(out, [1.0, 5.0, 9.0])


def test_called_functions_are_link_only_too(machine_code_libraries):
    called = CPUBackend().called_function(_axpy)

    @numba.njit(**JIT_OPTIONS)
    def kernel_once(x, out):
        called(x, out)

    x, out = np.arange(3.0), np.zeros(3)
    kernel_once(x, out)
    np.testing.assert_array_equal(out, [0.0, 2.0, 4.0])
    assert not [name for name in machine_code_libraries if "_axpy" in name or "calling" in name]
