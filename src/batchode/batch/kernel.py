"""``BatchKernel``: the factory that turns a per-trajectory body into a kernel."""

from __future__ import annotations

import attrs

from batchode.factory import CUDAFactory
from batchode.memory.buffer import PERSISTENT_POOL, SHARED_POOL


@attrs.frozen
class KernelBuild:
    """A compiled batch kernel and the per-trajectory memory it was sized for."""

    launch: object
    shared_elements: int
    persistent_elements: int

    @property
    def device_function(self):
        return self.launch


class BatchKernel(CUDAFactory):
    """Launches child ``body`` once per trajectory.

    ``body`` is a factory whose device function has the signature
    ``body(i, shared, persistent, args)``. The kernel asks the body's
    registry for the per-trajectory totals of the backend's arena pools and
    gives every trajectory arenas of exactly that size.
    """

    def __init__(self, body: CUDAFactory, *, name="kernel"):
        super().__init__(name=name, precision=body.precision, backend=body.backend.name)
        self.add_child("body", body)

    def build(self) -> KernelBuild:
        registry = self.buffer_registry
        shared = registry.pool_elements(SHARED_POOL)
        persistent = registry.pool_elements(PERSISTENT_POOL)
        body = self.child("body").device_function
        launch = self.backend.make_batch_kernel(body, shared, persistent, self.precision)
        return KernelBuild(launch, shared, persistent)

    def launch(self, n: int, args: tuple, **options) -> None:
        """Run the body for trajectories ``0 .. n-1`` with arrays ``args``."""
        self.built.launch(n, tuple(args), **options)

    def run_chunks(self, jobs, outputs):
        """Run ``(tag, n, args)`` jobs; yield ``(tag, output arrays)`` (see ``Backend.run_chunks``)."""
        return self.backend.run_chunks(self.built.launch, jobs, outputs)

    def ptx(self, args: tuple, cc=(9, 0)) -> str:
        """PTX of this kernel (CUDA backend) for arguments like ``args``."""
        from batchode.backends.ptx import compile_kernel_ptx

        if self.backend.name != "cuda":
            raise ValueError(f"PTX needs a kernel built for the cuda backend, not {self.backend.name!r}")
        return compile_kernel_ptx(self.built.launch.kernel, kernel_argument_types(args), cc)

    def ptxas_report(self, args: tuple, arch: str = "sm_90"):
        """Registers, stack frame and spills ptxas reports for this kernel."""
        from batchode.backends.ptx import ptxas_report

        cc = (int(arch[3:-1]), int(arch[-1]))
        return ptxas_report(self.ptx(args, cc), arch)


def kernel_argument_types(args: tuple) -> tuple:
    """numba types of a batch kernel's ``(n, args)`` for the given example arrays."""
    import numba

    return (numba.int64, numba.typeof(tuple(args)))
